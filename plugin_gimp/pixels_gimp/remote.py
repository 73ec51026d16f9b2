"""The conversation with `pixels serve`, shown on GIMP's progress bar: connect, load the
chosen model, send, follow the job. Whatever goes wrong comes out as Refused, in
GIMP's words (wording.py); GIMP's Cancel ends this process, and with it the job."""

import contextlib
import os
import time

import scene
import wording
from gi.repository import Gimp
from wording import Refused

from pixels_client import (
    AuthError,
    Client,
    ClientError,
    JobCancelled,
    JobError,
    Progress,
    ProtocolViolation,
    Queued,
    ServerUnavailable,
    Started,
    VersionMismatch,
)
from pixels_contract import schema
from pixels_contract.messages import LOCAL_HOSTS, SHUTTING_DOWN

LOAD_POLL = 0.5  # seconds between looks at a model load


def token_of(typed: str) -> str | None:
    """The Token setting, else $PIXELS_TOKEN (the server's own variable), else none."""
    return typed or os.environ.get("PIXELS_TOKEN") or None


def local(server: str) -> bool:
    """Whether the server runs on this machine, where bytes cost nothing to move."""
    host = wording.address(server).rsplit(":", 1)[0]
    return host in LOCAL_HOSTS


@contextlib.contextmanager
def explained(client: Client, server: str, sent_token: bool, frames: list[str]):
    """Turn the client's errors into Refused, worded for the artist."""
    try:
        yield
    except ServerUnavailable:
        lost = client.welcome is not None
        raise Refused(wording.lost(server) if lost else wording.not_running(server)) from None
    except AuthError:
        raise Refused(wording.token(server, sent_token)) from None
    except (VersionMismatch, ProtocolViolation) as e:
        raise Refused(wording.versions(server, str(e))) from None
    except JobError as e:
        if e.code == SHUTTING_DOWN:
            raise Refused(wording.lost(server)) from None
        raise Refused(wording.refused(str(e), e.field, frames)) from None
    except JobCancelled:
        raise
    except ClientError as e:  # an address that is not one
        raise Refused(str(e)) from None


def send(made, values: dict, want: str):
    """(the server's Result, the model that made it) for the scene's request, whose
    parameters are first checked for the model that will run it (see `checked`), and
    whose maps are completed under a selection (scene.own_maps); want="map" asks for the
    edit map instead of the edit (no model needed, so none is loaded)."""
    server, token, request = values["server"], token_of(values["token"]), made.request
    with Client(server, token) as client, explained(client, server, bool(token), made.frames):
        serving = client.connect().model
        model = serving.get("name", "")
        wanted = values["model"].strip()
        if want == "edit" and wanted and wanted != model:
            model, serving = load(client, wanted)
        request.params = checked(request.params, serving.get("family"))
        Gimp.progress_set_text(f"PIXELS: sending to {wording.address(server)}")
        scene.own_maps(made, lambda alone: follow(client.submit(alone, "map")).image)
        return follow(client.submit(request, want)), model


def checked(raw: dict, family: str | None) -> dict:
    """The parameters complete and checked, before anything is sent, by the rules of the
    serving model's family (FLUX.1 takes no negative prompt; a family this plug-in does
    not know gets any model's rules); an error names the control."""
    try:
        return schema.parse(raw, family if family in schema.FAMILIES else None)
    except schema.Invalid as e:
        raise Refused(wording.invalid(e)) from None


def load(client: Client, name: str) -> tuple[str, dict]:
    """Have the server load `name`, showing the wait; its name and the model the server
    then serves (for its family) once it is ready."""
    Gimp.progress_set_text(f"PIXELS: loading the model {name}")
    state = client.load_model(name)
    while state["state"] in ("waiting", "loading"):
        time.sleep(LOAD_POLL)
        state = client.load_state()
        Gimp.progress_set_text(f"PIXELS: loading the model {name} ({state['elapsed_s']:.0f} s)")
        Gimp.progress_pulse()
    if state["state"] != "ready":
        raise Refused(wording.model_failed(name, state.get("error")))
    return state["name"], client.models()["current"]


def follow(job):
    """Move GIMP's progress bar with the job; the job's result (or its error)."""
    for event in job.events():
        if isinstance(event, Queued):
            Gimp.progress_set_text(f"PIXELS: waiting, number {event.position} in the queue")
        elif isinstance(event, Started):
            Gimp.progress_set_text("PIXELS: editing")
        elif isinstance(event, Progress):
            left = f", about {event.eta:.0f} s left" if event.step < event.total else ""
            Gimp.progress_set_text(f"PIXELS: step {event.step} of {event.total}{left}")
            Gimp.progress_update(event.step / event.total)
    return job.result()
