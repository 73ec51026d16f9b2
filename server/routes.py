"""The HTTP routes (Flask): health, info, models, the schema and the status page.

`exchange.Connection` reads each plain HTTP request and `Server.serve_http` passes it,
past the guards, to this app as a WSGI server would. Every error is the JSON of
docs/protocol.md, raised as an HTTPError or turned into one from Flask's own.
"""

import json
import time
from collections import Counter

import torch
from flask import Flask, Response, render_template_string, request
from werkzeug.exceptions import HTTPException

from pixels_contract import schema
from pixels_contract.messages import (
    BAD_REQUEST,
    EDIT_PATH,
    INTERNAL_ERROR,
    INVALID_FIELD,
    METHOD_NOT_ALLOWED,
    NOT_FOUND,
    Refusal,
)
from pixels_engine.catalog import ALIASES, BUILTIN, COMPILE_MODES, FAMILY
from pixels_engine.errors import PixelsError
from pixels_engine.models import pick_device, pick_dtype

from .refusals import HTTPError

try:
    import resource
except ImportError:  # Windows
    resource = None

MAX_MODEL_NAME = 1000  # characters: a name, a Hub id, a folder or a .safetensors path
LOAD_FIELDS = ("name", "device", "dtype", "offload", "compile")

STATUS_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><meta http-equiv="refresh" content="2">
<title>PIXELS server</title>
<style>body{font:14px sans-serif;margin:2em}td,th{padding:2px 10px;text-align:left}
th{background:#eee}</style></head><body>
<h1>PIXELS server {{ info.server }}</h1>
<p>{% if model %}Model <b>{{ model.name }}</b> on <b>{{ model.device }}</b>, {{ model.dtype
}}{% if model.random_weights %}, random weights{% endif %}.{% else %}No model serves yet.
{% endif %} Load of {{ load.name }}: {{ load.state }}{% if load.error %}: {{ load.error }}
{% endif %}{% if load.download_mb %}, downloaded {{ load.downloaded_mb }} of {{ load.download_mb
}} MB{% endif %}.{% if load.compile.mode != "off" %} Compile ({{ load.compile.mode }}): {{
load.compile.state }}, {{ load.compile.shapes_done }} of {{ load.compile.shapes }} working
sizes, {{ load.compile.graphs }} graphs.{% endif %}</p>
<p>Memory: {% for k, v in memory.items() %}{{ k }} {{ v }} MB{% if not loop.last %}, {% endif %}
{% endfor %}. Up {{ uptime }} s, {{ clients }} client(s) connected.</p>
<h2>Queue ({{ queue|length }} of {{ info.limits.queue_size }})</h2>
{% macro table(jobs) %}<table><tr><th>job</th><th>client</th><th>state</th><th>canvas</th>
<th>steps</th><th>waited s</th><th>ran s</th><th>error</th></tr>
{% for j in jobs %}<tr><td>{{ j.id[:8] }}</td><td>{{ j.client }}</td><td>{{ j.state }}</td>
<td>{{ j.canvas }}</td><td>{{ j.steps }}</td><td>{{ j.waited_s }}</td><td>{{ j.ran_s }}</td>
<td>{{ j.error or "" }}</td></tr>{% endfor %}</table>{% endmacro %}
{{ table(running + queue) }}
<h2>Recent jobs</h2>
{{ table(recent) }}
</body></html>
"""


def create_app(server) -> Flask:
    """Only the routes below: no static folder (Flask's would serve the files of the
    folder the server was started in), no automatic OPTIONS (a 405 with Allow instead)."""
    app = Flask("pixels_server", static_folder=None)
    app.config["PROVIDE_AUTOMATIC_OPTIONS"] = False  # read as each route is added

    @app.get("/health")
    def health():
        """Liveness, open without a token: the model that serves (None while none does)
        and the load in progress, or the last one."""
        return {"ok": True, "model": server.serving_model(), "load": server.worker.load.as_dict()}

    @app.get("/v1/info")
    def info():
        return server.welcome().to_wire()

    @app.get("/v1/schema")
    def edit_schema():
        """The parameters a family takes (?family=flux-dev); by default the serving
        model's, or any model's while none serves."""
        name = request.args.get("family") or server.family()
        if name is not None and name not in schema.FAMILIES:
            families = ", ".join(schema.FAMILIES)
            message = f"family: {name[:40]!r} is not a model family; choose {families}."
            raise HTTPError(400, INVALID_FIELD, message, "family")
        return schema.as_json(name)

    @app.get("/v1/status")
    def status():
        return status_of(server)

    @app.get("/v1/models")
    def models():
        return {
            "current": server.model_info(),
            "builtin": list(BUILTIN),
            "aliases": ALIASES,
            "families": FAMILY,
            "load": server.worker.load.as_dict(),
        }

    @app.get("/v1/models/load")
    def load_progress():
        return server.worker.load.as_dict()

    @app.post("/v1/models/load")
    def load():
        load = load_request()
        try:
            started = server.worker.request_load(*load)
        except Refusal as e:
            raise HTTPError(409, e.code, e.message) from None
        return started.as_dict(), 202

    @app.get("/")
    def page():
        return render_template_string(
            STATUS_PAGE,
            info=server.welcome().to_wire(),
            model=server.serving_model(),
            load=server.worker.load.as_dict(),
            **status_of(server),
        )

    @app.get(EDIT_PATH)
    def edit_channel():
        message = f"{EDIT_PATH} is the edit channel: open a WebSocket to it (ws://)."
        raise HTTPError(426, BAD_REQUEST, message, headers=[("Upgrade", "websocket")])

    @app.errorhandler(HTTPError)
    def refused(e: HTTPError):
        return Response(e.body(), e.status, e.headers)

    @app.errorhandler(HTTPException)
    def flask_error(e: HTTPException):
        return refused(as_http_error(e))

    return app


def as_http_error(e: HTTPException) -> HTTPError:
    """One of Flask's errors in the words and JSON of docs/protocol.md."""
    path = request.path[:100]
    if e.code == 404:
        return HTTPError(404, NOT_FOUND, f"no page {path}; docs/protocol.md lists them.")
    if e.code == 405:
        allowed = ", ".join(sorted(e.valid_methods or ()))
        message = f"{request.method} is not allowed on {path}; use {allowed}."
        return HTTPError(405, METHOD_NOT_ALLOWED, message, headers=[("Allow", allowed)])
    code = INTERNAL_ERROR if e.code >= 500 else BAD_REQUEST
    return HTTPError(e.code, code, e.description or e.name)


def load_request() -> tuple[str, str, str, bool, str]:
    """Name, device, dtype, offload and compile mode of a model load, from the query
    string or a JSON body, checked now: a device this machine lacks is refused here, not
    after the wait."""
    pairs = [(k, v) for k, v in request.args.items(multi=True) if k != "token"]
    if body := request.get_data():
        pairs += body_fields(body)
    twice = sorted(name[:40] for name, count in Counter(k for k, _ in pairs).items() if count > 1)
    if twice:
        message = (
            f"{twice[0]}: given more than once (in the query string or the body); give it once."
        )
        raise HTTPError(400, INVALID_FIELD, message, twice[0])
    given = dict(pairs)
    unknown = sorted(set(given) - set(LOAD_FIELDS))
    if unknown:
        message = f"{unknown[0][:40]!r} is not a field of a load; give {', '.join(LOAD_FIELDS)}."
        raise HTTPError(400, INVALID_FIELD, message, unknown[0][:40])
    values = {"name": "", "device": "auto", "dtype": "auto", "offload": "false", "compile": "off"}
    values.update(given)
    offload = {"true": True, "1": True, "false": False, "0": False, True: True, False: False}
    if not isinstance(values["offload"], str | bool) or values["offload"] not in offload:
        message = "offload: must be true or false (components on the CPU until they run)."
        raise HTTPError(400, INVALID_FIELD, message, "offload")
    values["offload"] = str(offload[values["offload"]]).lower()
    for name, value in values.items():
        if not isinstance(value, str):
            raise HTTPError(400, INVALID_FIELD, f"{name}: must be a string.", name)
    name = values["name"].strip()
    if not 0 < len(name) <= MAX_MODEL_NAME:
        message = (
            f"name: give the model to load (a built-in name, a Hugging Face id, a folder or a "
            f".safetensors file; at most {MAX_MODEL_NAME} characters): ?name=tiny."
        )
        raise HTTPError(400, INVALID_FIELD, message, "name")
    try:
        pick_dtype(values["dtype"], pick_device(values["device"]))
    except PixelsError as e:
        raise HTTPError(400, INVALID_FIELD, f"{e.field}: {e}", e.field) from None
    if values["compile"] not in COMPILE_MODES:
        message = f"compile: choose {', '.join(COMPILE_MODES)}."
        raise HTTPError(400, INVALID_FIELD, message, "compile")
    offload = values["offload"] == "true"
    return name, values["device"], values["dtype"], offload, values["compile"]


def body_fields(body: bytes) -> list[tuple[str, object]]:
    """The (name, value) pairs of a JSON object body, a name given twice kept twice (a
    dict would keep one of the two without a word)."""
    pairs = []

    def keep(object_pairs: list) -> dict:
        pairs[:] = object_pairs  # the outermost object is the last one read
        return dict(object_pairs)

    try:
        fields = json.loads(body, object_pairs_hook=keep)
    except (ValueError, RecursionError):
        fields = None
    if not isinstance(fields, dict):
        raise HTTPError(400, BAD_REQUEST, 'the body must be a JSON object: {"name": "tiny"}.')
    return pairs


def status_of(server) -> dict:
    running = server.worker.current
    return {
        "memory": memory(server.worker.model),
        "uptime": round(time.time() - server.started),
        "clients": len(server.channels),
        "running": [running.summary()] if running is not None else [],
        "queue": [job.summary() for job in server.queue.order()],
        "recent": [job.summary() for job in list(server.recent)],
    }


def memory(model) -> dict:
    """Megabytes: the GPU's use when the model is on CUDA, and the process's peak."""
    out = {}
    if model is not None and model.device.type == "cuda":
        out["gpu allocated"] = torch.cuda.memory_allocated(model.device) // 2**20
        out["gpu reserved"] = torch.cuda.memory_reserved(model.device) // 2**20
        out["gpu total"] = torch.cuda.get_device_properties(model.device).total_memory // 2**20
    if resource is not None:
        out["process peak"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    return out
