"""Checking an edit request: its parameters, the roles of its frames and their sizes.

Every problem is refused with the field it concerns (``params.steps``, ``frames``,
``exemplar 2``); nothing here decodes pixels (the worker does, one job at a time).
"""

import math
from dataclasses import dataclass

from pixels_client.protocol import (
    EXEMPLAR,
    GLOBAL_MAP,
    INVALID_FIELD,
    MAP,
    PARAMS,
    SOURCE,
    TOO_LARGE,
)
from pixels_engine import EditSettings, MapOps, PixelsError
from pixels_engine.editor import MAX_SEED

from .config import Limits
from .errors import Refused
from .images import header_size

TEXT = ("prompt", "negative_prompt", "threshold", "mode")
NUMBERS = ("guidance", "strength", "transition", "gamma", "feather")
INTEGERS = ("steps", "grow", "quantise")
MAX_REF_CHARS = 64


@dataclass
class Frame:
    role: str  # as the client named it: "source", "exemplar 2", "map of exemplar 2", ...
    kind: str  # SOURCE, EXEMPLAR, MAP or GLOBAL_MAP
    exemplar: int  # 1-based for exemplars and their maps, else 0
    data: bytes


def max_frames(limits: Limits) -> int:
    return 2 + 2 * limits.max_exemplars


def frame_roles(names: object, limits: Limits) -> list[tuple[str, str, int]]:
    """(role, kind, exemplar) for each announced frame; the order is part of the protocol."""
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise Refused(
            INVALID_FIELD,
            'frames: must be a list of role names, e.g. ["source", "exemplar", "map"]',
            "frames",
        )
    roles, exemplars = [], 0
    for i, name in enumerate(names):
        if (name == SOURCE) != (i == 0):
            raise Refused(INVALID_FIELD, "frames: the source must come first, once.", "frames")
        if name == EXEMPLAR:
            exemplars += 1
            roles.append((f"exemplar {exemplars}", EXEMPLAR, exemplars))
        elif name == MAP:
            if i == 0 or names[i - 1] != EXEMPLAR:
                raise Refused(
                    INVALID_FIELD,
                    f"frames[{i}]: a map must follow its exemplar "
                    '(use "global_map" for the map of every exemplar).',
                    "frames",
                )
            roles.append((f"map of exemplar {exemplars}", MAP, exemplars))
        elif name == GLOBAL_MAP:
            if i != len(names) - 1:
                raise Refused(
                    INVALID_FIELD, "frames: the global map must come last, once.", "frames"
                )
            roles.append(("global map", GLOBAL_MAP, 0))
        elif name != SOURCE:
            raise Refused(
                INVALID_FIELD,
                f"frames[{i}]: unknown role {name[:40]!r}; use "
                f"{SOURCE}, {EXEMPLAR}, {MAP} or {GLOBAL_MAP}.",
                "frames",
            )
        else:
            roles.append(("source", SOURCE, 0))
    if exemplars > limits.max_exemplars:
        raise Refused(
            TOO_LARGE,
            f"frames: {exemplars} exemplars; this server takes at most {limits.max_exemplars}.",
            "frames",
        )
    if len(roles) < 2:
        raise Refused(
            INVALID_FIELD,
            "frames: nothing to edit: send at least one exemplar, or "
            "a global map that says where the prompt may change the picture.",
            "frames",
        )
    return roles


def check_frames(names: object, data: list[bytes], limits: Limits) -> tuple[list[Frame], tuple]:
    """The frames with their roles, and the canvas size; every image on the same canvas."""
    frames = [
        Frame(role, kind, k, d)
        for (role, kind, k), d in zip(frame_roles(names, limits), data, strict=True)
    ]
    canvas = None
    for frame in frames:
        size = header_size(frame.data, frame.role, limits.max_pixels)
        canvas = canvas or size
        if size != canvas:
            raise Refused(
                INVALID_FIELD,
                f"{frame.role}: {size[0]}x{size[1]} but the source is "
                f"{canvas[0]}x{canvas[1]}. Every layer must be on the source canvas.",
                frame.role,
            )
    return frames, canvas


def settings(params: object, limits: Limits) -> EditSettings:
    """EditSettings from the request's ``params``; absent ones take `pixels edit`'s defaults."""
    if not isinstance(params, dict):
        raise Refused(INVALID_FIELD, "params: must be a JSON object of edit parameters.", "params")
    unknown = sorted(set(params) - set(PARAMS))
    if unknown:
        raise Refused(
            INVALID_FIELD,
            f"params.{unknown[0][:40]}: unknown parameter; known: {', '.join(PARAMS)}.",
            f"params.{unknown[0][:40]}",
        )
    p = {**PARAMS, **params}
    for name in TEXT:
        text(p, name, limits.max_prompt_chars)
    for name in NUMBERS:
        number(p, name)
    for name in INTEGERS:
        integer(p, name)
    if p["seed"] is not None:
        integer(p, "seed")
    if not isinstance(p["invert"], bool):
        raise Refused(INVALID_FIELD, "params.invert: must be true or false.", "params.invert")
    levels = p["levels"]
    if not (isinstance(levels, list) and len(levels) == 2 and all(is_number(v) for v in levels)):
        raise Refused(
            INVALID_FIELD, "params.levels: must be [low, high], e.g. [0.1, 0.9].", "params.levels"
        )
    if p["steps"] > limits.max_steps:
        raise Refused(
            TOO_LARGE,
            f"params.steps: {p['steps']} is over this server's limit of {limits.max_steps}.",
            "params.steps",
        )
    if p["seed"] is not None and not 0 <= p["seed"] <= MAX_SEED:
        raise Refused(INVALID_FIELD, f"params.seed: must be 0 to {MAX_SEED}.", "params.seed")
    ops = MapOps(
        p["invert"], levels[0], levels[1], p["gamma"], p["grow"], p["feather"], p["quantise"]
    )
    fields = (
        "prompt",
        "negative_prompt",
        "guidance",
        "strength",
        "steps",
        "seed",
        "threshold",
        "mode",
        "transition",
    )
    result = EditSettings(**{k: p[k] for k in fields}, map_ops=ops)
    try:
        result.validate()
    except PixelsError as e:  # the engine names the option: --steps for params.steps
        raise Refused(INVALID_FIELD, f"params: {str(e).replace('--', '')}", "params") from None
    return result


def is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def number(p: dict, name: str) -> None:
    if not is_number(p[name]):
        raise Refused(
            INVALID_FIELD,
            f"params.{name}: must be a number, got {p[name]!r:.40}.",
            f"params.{name}",
        )


def integer(p: dict, name: str) -> None:
    value = p[name]
    if isinstance(value, float) and value.is_integer():
        p[name] = value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or abs(value) > 2**63:
        raise Refused(
            INVALID_FIELD,
            f"params.{name}: must be a whole number, got {value!r:.40}.",
            f"params.{name}",
        )


def text(p: dict, name: str, max_chars: int) -> None:
    if not isinstance(p[name], str):
        raise Refused(INVALID_FIELD, f"params.{name}: must be a string.", f"params.{name}")
    if len(p[name]) > max_chars:
        raise Refused(
            TOO_LARGE,
            f"params.{name}: {len(p[name])} characters; at most {max_chars}.",
            f"params.{name}",
        )


def ref(value: object) -> str | None:
    """The client's own name for a request, echoed until the job id is known."""
    if value is None or (isinstance(value, str) and len(value) <= MAX_REF_CHARS):
        return value
    raise Refused(
        INVALID_FIELD, f"ref: must be a string of at most {MAX_REF_CHARS} characters.", "ref"
    )
