"""`pixels batch` with the tiny model: a manifest with a bad line, a rerun that skips what
is done, a run stopped with Ctrl-C and resumed; then the same manifest on a real local Ray
cluster (a head and a second worker node on loopback, started here): the same bytes, and
a worker killed mid-run without losing or repeating an item."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from pixels_cli import samples

ITEMS = 6


@pytest.fixture(scope="module")
def manifest(tmp_path_factory) -> Path:
    """Six good edits (two exemplars, one with a map; different seeds and parameters)
    and one line whose exemplar file is missing."""
    folder = tmp_path_factory.mktemp("batch")
    layers = samples.save_scene(folder, 96)
    lines = [
        {
            "id": f"item-{k}",
            **layers,
            "seed": 100 + k,
            "steps": 4,
            "strength": 0.5 + 0.05 * k,
        }
        for k in range(ITEMS)
    ]
    lines.insert(3, {"id": "lost", "source": "source.png", "exemplars": [{"image": "gone.png"}]})
    (folder / "edits.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    return folder / "edits.jsonl"


def batch(manifest: Path, out: Path, *extra: str, env: dict | None = None, wait: bool = True):
    command = [sys.executable, "-m", "pixels_cli", "batch", str(manifest), "--out", str(out)]
    process = subprocess.Popen(
        [*command, *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    if not wait:
        return process
    out_text, err_text = process.communicate(timeout=600)
    return process.returncode, out_text, err_text


def report(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "report.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def local(manifest, tmp_path_factory, model_cache):
    out = tmp_path_factory.mktemp("local")
    code, text, err = batch(manifest, out, env={"PIXELS_CACHE": str(model_cache)})
    return out, code, text, err


def test_a_bad_line_is_reported_and_the_good_ones_run(local):
    out, code, text, err = local
    assert code == 1, err  # a line failed
    assert "line 4 (lost): exemplars[0].image: no file gone.png" in err
    records = {r["id"]: r for r in report(out)}
    assert records["lost"]["status"] == "failed" and records["lost"]["line"] == 4
    for k in range(ITEMS):
        record = records[f"item-{k}"]
        assert record["status"] == "done" and record["seed"] == 100 + k
        assert (out / f"item-{k}.png").is_file() and record["timings"]["sample"] > 0
    assert not list(out.glob(".*.tmp"))
    assert f"{ITEMS} done, 0 already done, 1 failed" in text


def test_a_rerun_skips_what_is_done_and_redoes_what_changed(local, manifest, tmp_path, model_cache):
    out, *_ = local
    again = tmp_path / "again"
    shutil.copytree(out, again)
    stamps = {p.name: p.stat().st_mtime_ns for p in again.glob("*.png")}
    changed = tmp_path / "changed.jsonl"
    lines = manifest.read_text().splitlines()
    edited = json.loads(lines[0])
    edited["seed"] = 999  # another seed: another result
    changed.write_text("\n".join([json.dumps(edited), *lines[1:]]) + "\n")
    samples.save_scene(tmp_path, 96)
    code, text, err = batch(changed, again, env={"PIXELS_CACHE": str(model_cache)})
    assert f"1 done, {ITEMS - 1} already done, 1 failed" in text, err
    statuses = {r["id"]: r["status"] for r in report(again)}
    assert statuses["item-0"] == "done" and statuses["item-5"] == "skipped"
    for name, stamp in stamps.items():
        assert (again / name).stat().st_mtime_ns == stamp or name == "item-0.png"


def test_ctrl_c_stops_after_the_current_edit_and_a_rerun_finishes(manifest, tmp_path, model_cache):
    out = tmp_path / "stopped"
    process = batch(manifest, out, env={"PIXELS_CACHE": str(model_cache)}, wait=False)
    deadline = time.monotonic() + 300
    while not (out / "item-0.png").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    text, err = process.communicate(timeout=300)
    assert "stopping after the edits under way" in err and "not started (stopped)" in text
    done = [r["id"] for r in report(out) if r["status"] == "done"]
    assert 1 <= len(done) < ITEMS and not list(out.glob(".*.tmp"))
    assert sorted(p.stem for p in out.glob("*.png")) == sorted(done)  # nothing half-written
    code, text, err = batch(manifest, out, env={"PIXELS_CACHE": str(model_cache)})
    assert f"{ITEMS - len(done)} done, {len(done)} already done, 1 failed" in text, err


def test_a_killed_run_leaves_no_temporary_file_and_its_report_lines_stay(
    manifest, tmp_path, model_cache
):
    out = tmp_path / "killed"
    env = {"PIXELS_CACHE": str(model_cache)}
    process = batch(manifest, out, env=env, wait=False)
    deadline = time.monotonic() + 300
    while not (out / "item-0.png").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    process.kill()
    process.communicate(timeout=60)
    killed = (out / "report.jsonl").read_text().splitlines()
    assert {json.loads(line)["id"] for line in killed} >= {"lost", "item-0"}
    # What a kill in the middle of writing leaves: a result under its temporary name, as
    # batch_edit.write names it, and a report line cut short.
    (out / f".item-1.png.{process.pid}.tmp").write_bytes((out / "item-0.png").read_bytes()[:99])
    cut = '{"run": "2026-12-06T05:00:00.000+00:00", "line": 3, "id": "item'
    with (out / "report.jsonl").open("a") as f:
        f.write(cut)
    code, text, err = batch(manifest, out, env=env)
    assert not list(out.glob(".*.tmp")), err
    lines = (out / "report.jsonl").read_text().splitlines()
    assert lines[: len(killed) + 1] == [*killed, cut]  # the killed run's lines are kept
    rerun = [json.loads(line) for line in lines[len(killed) + 1 :]]
    assert len({r["run"] for r in rerun}) == 1
    assert rerun[0]["run"] > json.loads(killed[0])["run"]  # runs told apart by their start
    assert sorted(r["id"] for r in rerun) == sorted(["lost", *(f"item-{k}" for k in range(ITEMS))])
    assert {r["id"]: r["status"] for r in rerun}["item-0"] == "skipped"


# --- on a Ray cluster -----------------------------------------------------------------


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, model_cache):
    """A real Ray cluster on loopback: a head node and a second worker node, each a
    process of this machine with one CPU."""
    ray = shutil.which("ray", path=os.path.dirname(sys.executable))
    if ray is None:
        pytest.fail("Ray is not installed (make setup installs the [batch] extra)")
    port = free_port()
    env = {**os.environ, "PIXELS_CACHE": str(model_cache), "RAY_AUTH_MODE": "disabled"}
    common = ["--num-cpus", "1", "--node-ip-address", "127.0.0.1", "--disable-usage-stats"]
    head = [ray, "start", "--head", "--port", str(port), "--include-dashboard", "false"]
    subprocess.run([*head, *common], check=True, env=env, capture_output=True, timeout=120)
    address = f"127.0.0.1:{port}"
    subprocess.run(
        [ray, "start", "--address", address, *common],
        check=True,
        env=env,
        capture_output=True,
        timeout=120,
    )
    yield address, env
    subprocess.run([ray, "stop", "--force"], env=env, capture_output=True, timeout=120)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_same_manifest_on_ray_gives_the_same_bytes(cluster, manifest, local, tmp_path):
    address, env = cluster
    out = tmp_path / "ray"
    code, text, err = batch(manifest, out, "--ray", address, "--workers", "2", env=env)
    assert code == 1 and f"{ITEMS} done, 0 already done, 1 failed" in text, err
    for k in range(ITEMS):
        name = f"item-{k}.png"
        assert (out / name).read_bytes() == (local[0] / name).read_bytes(), name


def test_a_worker_killed_mid_run_loses_and_repeats_nothing(cluster, manifest, local, tmp_path):
    address, env = cluster
    out = tmp_path / "killed"
    process = batch(manifest, out, "--ray", address, "--workers", "2", env=env, wait=False)
    deadline = time.monotonic() + 300
    while not list(out.glob("item-*.png")) and time.monotonic() < deadline:
        time.sleep(0.05)
    workers = [
        p
        for p in psutil.process_iter(["cmdline"])
        if "EditWorker" in " ".join(p.info["cmdline"] or [])
    ]
    assert workers, "no Ray worker process found"
    workers[0].kill()
    text, err = process.communicate(timeout=600)
    records = [r for r in report(out) if r["id"] != "lost"]
    assert sorted(r["id"] for r in records) == [f"item-{k}" for k in range(ITEMS)], err
    # Each once, none failed. The killed worker may have written its item and died before
    # its record came back: Ray's retry then finds the result and reports it skipped.
    statuses = [r["status"] for r in records]
    assert set(statuses) <= {"done", "skipped"} and statuses.count("skipped") <= 1, records
    for k in range(ITEMS):
        name = f"item-{k}.png"
        assert (out / name).read_bytes() == (local[0] / name).read_bytes(), name
