"""The HTTP side (Flask): health, info, models, and the status page.

`websockets` owns the socket and hands each plain HTTP request to `respond`, which runs
the Flask app on it as any WSGI server would. Requests have no body (the socket layer
takes none), so parameters travel in the query string.
"""

import time
import urllib.parse

import torch
from flask import Flask, jsonify, render_template_string, request
from websockets.datastructures import Headers
from websockets.http11 import Response
from werkzeug.exceptions import HTTPException
from werkzeug.test import EnvironBuilder, run_wsgi_app

from pixels_contract.messages import Refusal
from pixels_engine.catalog import ALIASES, BUILTIN

try:
    import resource
except ImportError:  # Windows
    resource = None

STATUS_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><meta http-equiv="refresh" content="2">
<title>PIXELS server</title>
<style>body{font:14px sans-serif;margin:2em}td,th{padding:2px 10px;text-align:left}
th{background:#eee}</style></head><body>
<h1>PIXELS server {{ info.server }}</h1>
<p>Model <b>{{ model.name }}</b> ({{ model.state }}){% if model.device %} on
<b>{{ model.device }}</b>, {{ model.dtype }}{% endif %}{% if model.random_weights %},
random weights{% endif %}. Load: {{ load.state }}{% if load.error %}: {{ load.error }}
{% endif %}.</p>
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
    app = Flask("pixels_server")

    @app.get("/health")
    def health():
        return {"ok": True, "model": server.worker.load.state}

    @app.get("/v1/info")
    def info():
        return server.welcome().to_wire()

    @app.get("/v1/status")
    def status():
        return status_of(server)

    @app.get("/v1/models")
    def models():
        return {
            "current": server.model_info(),
            "builtin": list(BUILTIN),
            "aliases": ALIASES,
            "load": server.worker.load.as_dict(),
        }

    @app.get("/v1/models/load")
    def load_progress():
        return server.worker.load.as_dict()

    @app.post("/v1/models/load")
    def load():
        name = request.args.get("name", "").strip()
        if not name:
            return error(400, "invalid_field", "name: give the model to load, ?name=tiny", "name")
        device, dtype = request.args.get("device", "auto"), request.args.get("dtype", "auto")
        try:
            started = server.worker.request_load(name, device, dtype)
        except Refusal as e:
            return error(409, e.code, e.message)
        return started.as_dict(), 202

    @app.get("/")
    def page():
        return render_template_string(
            STATUS_PAGE,
            info=server.welcome().to_wire(),
            model=server.model_info(),
            load=server.worker.load.as_dict(),
            **status_of(server),
        )

    @app.errorhandler(HTTPException)
    def http_error(e: HTTPException):
        return error(e.code, "not_found" if e.code == 404 else "bad_request", e.description)

    return app


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


def error(status: int, code: str, message: str, field: str | None = None):
    return jsonify(code=code, message=message, field=field), status


def respond(app: Flask, req, peer: str) -> Response:
    """Run the Flask app on a request read by websockets; the answer closes the connection."""
    url = urllib.parse.urlsplit(req.path)
    headers = [(k, v) for k, v in req.headers.raw_items() if k.lower() != "host"]
    environ = EnvironBuilder(
        path=urllib.parse.unquote(url.path),
        query_string=url.query,
        method=req.method,
        headers=headers,
        environ_base={"REMOTE_ADDR": peer},
    ).get_environ()
    body_iter, status, response_headers = run_wsgi_app(app, environ, buffered=True)
    body = b"".join(body_iter)
    headers = Headers(response_headers)
    headers["Content-Length"] = str(len(body))
    headers["Connection"] = "close"
    code, _, reason = status.partition(" ")
    return Response(int(code), reason, headers, body)
