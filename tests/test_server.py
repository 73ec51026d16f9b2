"""The server on loopback with the tiny model, driven by the real client."""

import json
import threading
import time
import urllib.error
import urllib.request

import numpy as np
import pytest
from serving import LONG, png, read_png, scene_request
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from pixels_cli import samples
from pixels_cli.main import main
from pixels_client import (
    Cancelled,
    Client,
    JobCancelled,
    JobError,
    Progress,
    Queued,
    Result,
    Started,
)
from pixels_client import png as stdpng
from pixels_contract import schema
from pixels_engine import Editor, EditSettings, Exemplar, load_model
from pixels_engine.images import save_image


def get(url: str, headers: dict | None = None, method: str = "GET") -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def wait_for(predicate, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out")


def status(server) -> dict:
    return json.loads(get(server.http + "/v1/status")[1])


def test_happy_path_two_exemplars_matches_the_engine(server):
    request = scene_request(96, steps=6, strength=0.5, seed=5)
    with Client(server.url) as client:
        info = client.connect()
        assert info.protocol == 2 and info.model["name"] == "tiny"
        assert info.limits.queue_size == 3 and "cancel" in info.capabilities
        events = list(client.submit(request).events(timeout=120))
    kinds = [type(e) for e in events]
    assert kinds[0] is Queued and kinds[1] is Started and kinds[-1] is Result
    progress = [e for e in events if isinstance(e, Progress)]
    assert kinds[2:-1] == [Progress] * len(progress)
    assert [p.step for p in progress] == list(range(1, 4)) and {p.total for p in progress} == {3}
    assert progress[-1].preview is not None  # the last step always has its preview
    width, height, rgba = stdpng.decode(progress[-1].preview)
    assert width == height and len(rgba) == width * height * 4
    result = events[-1]
    assert result.seed == 5 and result.steps_run == 3 and result.region is not None
    assert {"encode", "sample", "decode", "total"} <= set(result.timings)

    # The same edit in this process, from the same 8-bit layers, gives the same pixels.
    layers = [read_png(x).astype(np.float32) / 255 for x in [request.source]]
    lake, rug = request.exemplars
    exemplars = [
        Exemplar(read_png(lake.image) / np.float32(255), read_png(lake.map) / np.float32(255)),
        Exemplar(read_png(rug.image) / np.float32(255)),
    ]
    settings = EditSettings(steps=6, strength=0.5, seed=5)
    expected = Editor(load_model("tiny", "cpu")).edit(layers[0], exemplars, settings)
    got = read_png(result.image)
    assert got.shape == (96, 96, 4)
    assert np.array_equal(got, np.rint(expected.image * 255).astype(np.uint8))


def test_cancel_while_queued_and_while_running(server):
    with Client(server.url) as client:
        running = client.submit(scene_request(**LONG))
        waiting = client.submit(scene_request(**LONG))
        assert waiting.id != running.id
        client.cancel(waiting.id)
        assert isinstance(list(waiting.events(timeout=30))[-1], Cancelled)
        for event in running.events(timeout=60):
            if isinstance(event, Progress):
                break
        running.cancel()
        with pytest.raises(JobCancelled):
            running.result(timeout=60)
        with pytest.raises(JobError) as refused:
            client.submit(scene_request(**{"steps": "many"}))
        assert refused.value.code == "invalid_field" and refused.value.field == "params.steps"
    assert wait_for(lambda: status(server)["running"] == [] and status(server)["queue"] == [])


def test_two_clients_at_once_get_their_own_results(server):
    sizes = {"a": 64, "b": 96}
    results, errors = {}, []

    def run(name: str) -> None:
        try:
            with Client(server.url) as client:
                request = scene_request(sizes[name], seed=len(name) * 100 + sizes[name])
                results[name] = client.submit(request).result(timeout=180)
        except Exception as e:
            errors.append(e)

    threads = [threading.Thread(target=run, args=(name,)) for name in sizes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for name, size in sizes.items():
        assert read_png(results[name].image).shape == (size, size, 4)
        assert results[name].seed == len(name) * 100 + size


def test_queue_full_and_positions(server):
    with Client(server.url) as client:
        running = client.submit(scene_request(**LONG))
        wait_for(lambda: status(server)["running"])
        waiting = [client.submit(scene_request(**LONG)) for _ in range(3)]
        positions = [next(job.events(timeout=10)).position for job in waiting]
        assert positions == [1, 2, 3]
        with pytest.raises(JobError) as full:
            client.submit(scene_request())
        assert full.value.code == "queue_full"
        client.cancel(waiting[0].id)
        moved = next(waiting[1].events(timeout=10))
        assert isinstance(moved, Queued) and moved.position == 1
        for job in [running, *waiting[1:]]:
            job.cancel()
        for job in [running, *waiting]:
            with pytest.raises(JobCancelled):
                job.result(timeout=60)


def test_disconnect_cancels_the_clients_jobs(server):
    client = Client(server.url)
    job = client.submit(scene_request(**LONG))
    queued = client.submit(scene_request(**LONG))
    for event in job.events(timeout=60):
        if isinstance(event, Progress):
            break
    client.close()

    def ended() -> list:
        recent = {j["id"]: j["state"] for j in status(server)["recent"]}
        return [recent.get(job.id), recent.get(queued.id)] == ["cancelled", "cancelled"]

    assert wait_for(ended, timeout=30)
    with Client(server.url) as other:  # and the server goes on serving
        assert other.submit(scene_request(64)).result(timeout=120).seed == 11


def test_http_side_and_safety_checks(server):
    code, body = get(server.http + "/health")
    assert code == 200 and json.loads(body)["ok"] is True
    code, body = get(server.http + "/v1/models")
    models = json.loads(body)
    assert code == 200 and models["current"]["name"] == "tiny"
    # every name's family, known before loading: the one the loaded model reports
    assert set(models["families"]) == set(models["builtin"]) | set(models["aliases"])
    assert set(models["families"].values()) == set(schema.FAMILIES)
    assert models["families"]["tiny"] == models["current"]["family"]
    code, body = get(server.http + "/")
    assert code == 200 and b"PIXELS server" in body and b"tiny" in body
    assert get(server.http + "/nowhere")[0] == 404
    # A web page from another origin, or a DNS-rebinding name, is refused.
    assert get(server.http + "/v1/info", {"Origin": "http://evil.example"})[0] == 403
    assert get(server.http + "/v1/info", {"Host": f"evil.example:{server.port}"})[0] == 403
    with pytest.raises(InvalidStatus) as refused:
        connect(server.url + "/v1/edit", origin="http://evil.example")
    assert refused.value.response.status_code == 403


def load_state(server) -> dict:
    return json.loads(get(server.http + "/v1/models/load")[1])


def test_model_load_switch_and_failure(server):
    missing = "/nonexistent/model.safetensors"
    assert get(f"{server.http}/v1/models/load?name={missing}", method="POST")[0] == 202
    wait_for(lambda: load_state(server)["state"] == "failed")
    assert missing in load_state(server)["error"]
    assert get(server.http + "/v1/models/load?name=tiny&device=cpu", method="POST")[0] == 202
    wait_for(lambda: load_state(server)["state"] == "ready")
    with Client(server.url) as client:  # the (re)loaded model edits
        assert client.submit(scene_request(64)).result(timeout=120).steps_run == 2


def test_pixels_edit_with_server_option(server, tmp_path, capsys):
    source, (lake, rug) = samples.scene(64)
    files = {"source": source, "lake": lake.image, "lake-map": lake.map, "rug": rug.image}
    for name, array in files.items():
        save_image(array, tmp_path / f"{name}.png")
    out = tmp_path / "edited.png"
    layers = ["--exemplar", "lake.png", "--map", "lake-map.png", "--exemplar", "rug.png"]
    args = ["edit", "--source", "source.png", *layers, "--out", "edited.png"]
    args = [str(tmp_path / a) if a.endswith(".png") else a for a in args]
    code = main([*args, "--server", server.url, "--steps", "4", "--strength", "0.5", "--seed", "3"])
    assert code == 0 and "seed=3" in capsys.readouterr().out
    edited = read_png(out.read_bytes())
    assert edited.shape == (64, 64, 4)
    assert not np.array_equal(edited, read_png(png(source)))
    wrong = main([*args, "--server", "127.0.0.1:1", "--steps", "4"])
    assert wrong == 2 and "no PIXELS server" in capsys.readouterr().err


def test_a_taken_port_is_a_clear_error(server, capsys):
    assert main(["serve", "--port", str(server.port)]) == 2
    assert "cannot listen on 127.0.0.1" in capsys.readouterr().err
