"""The parasite that keeps an edit's parameters on its result layer, saved in the XCF,
so the edit can be understood and run again (with the seed the server used).
No GIMP here, so the host Python tests it."""

import json

PARASITE = "pixels-edit"
VERSION = 2


def encode(params: dict, inputs: dict, model: str, region: list | None, layers: dict) -> bytes:
    """JSON of everything needed to redo the edit: the schema's parameters sent (with the
    seed the server used), the plug-in's other inputs (the token is never one of them:
    parasites are saved in the file), the model, the region it changed, and the tattoos
    of the layers it was made from ({"source": tattoo or None, "exemplars": [...],
    "map": tattoo or None})."""
    record = {
        "version": VERSION,
        "params": {k: list(v) if isinstance(v, tuple) else v for k, v in params.items()},
        "inputs": {k: v for k, v in inputs.items() if k != "token"},
        "model": model,
        "region": region,
        "layers": layers,
    }
    return json.dumps(record, sort_keys=True).encode()


def decode(data: bytes) -> dict:
    """The record of `encode`; ValueError when it is not one this version can read."""
    record = json.loads(bytes(data).decode())
    if not isinstance(record, dict) or record.get("version") != VERSION:
        raise ValueError(f"not a version {VERSION} PIXELS edit record")
    return record
