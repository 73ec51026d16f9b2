"""The parasite that keeps an edit's settings on its result layer, saved in the XCF,
so the edit can be understood and run again (with the seed the server used)."""

import json

PARASITE = "pixels-edit"
VERSION = 1


def encode(settings: dict, params: dict, model: str, region: list | None) -> bytes:
    """JSON of everything needed to redo the edit: the plug-in's settings and the
    protocol parameters sent (both with the seed the server used), the model, and the
    region it changed. The token is left out: parasites are saved in the file."""
    record = {
        "version": VERSION,
        "settings": {k: v for k, v in settings.items() if k != "token"},
        "params": params,
        "model": model,
        "region": region,
    }
    return json.dumps(record, sort_keys=True).encode()


def decode(data: bytes) -> dict:
    """The record of `encode`; ValueError when it is not one this version can read."""
    record = json.loads(bytes(data).decode())
    if not isinstance(record, dict) or record.get("version") != VERSION:
        raise ValueError(f"not a version {VERSION} PIXELS edit record")
    return record
