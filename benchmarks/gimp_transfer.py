"""Inside GIMP (python-fu-eval), run by benchmarks/bench_gimp.py: edits of SIZE x SIZE
layers through the installed plug-in's own modules, timed step by step, against a real
`pixels serve`. Prints one `PIXELS-BENCH {json}` line per edit.

Run as `SPEC = {...}; exec(open(PATH).read())` with SPEC = {"plugin": the installed
pixels_gimp folder, "server": ws://..., "sizes": [...], "repeats": N}. The exemplar
covers the whole source, so the whole canvas comes back changed: the worst case.
"""

import json
import sys
import time

import gi

gi.require_version("Gimp", "3.0")
gi.require_version("Gegl", "0.4")
from gi.repository import Gegl, Gimp  # noqa: E402

sys.path.insert(0, SPEC["plugin"])  # noqa: F821 (set by the caller)

import answers  # noqa: E402
import canvas  # noqa: E402
import controls  # noqa: E402
import layers  # noqa: E402
import remote  # noqa: E402
import scene  # noqa: E402

from pixels_client import png  # noqa: E402

QUICK = {"steps": 2, "strength": 0.5, "seed": 1, "random-seed": False, "transition": 0.0}


def layer(image, name, size, kind, data, fmt):
    new = Gimp.Layer.new(image, name, size, size, kind, 100.0, Gimp.LayerMode.NORMAL)
    image.insert_layer(new, None, 0)
    buffer = new.get_buffer()
    buffer.set(Gegl.Rectangle.new(0, 0, size, size), fmt, data)
    buffer.flush()
    return new


def edit(size: int) -> dict:
    image = Gimp.Image.new(size, size, Gimp.ImageBaseType.RGB)
    stripes = bytes(range(256)) * (size * size * 3 // 256)
    source = layer(image, "source", size, Gimp.ImageType.RGB_IMAGE, stripes, "R'G'B' u8")
    blue = bytes((30, 90, 200, 255)) * (size * size)
    exemplar = layer(image, "exemplar", size, Gimp.ImageType.RGBA_IMAGE, blue, "R'G'B'A u8")
    values = {a.name: a.extra[-1] for a in controls.ARGUMENTS}
    values.update({a.name: a.extra[1] for a in controls.ARGUMENTS if a.kind == "choice"})
    values.update({**QUICK, "server": SPEC["server"], "map-drawable": None})  # noqa: F821
    began = time.perf_counter()
    made = scene.build(image, [source, exemplar], values, controls.params_of(values), 0)
    built = time.perf_counter()
    answer, model = remote.send(made.request, values, "edit", made.frames)
    answered = time.perf_counter()
    answers.add_edit(image, made, answer, values, model)
    added = time.perf_counter()
    rgba = png.decode(answer.image)[2]  # the parts of add_edit again, alone
    decoded = time.perf_counter()
    pixels = canvas.edited_only(rgba, made.sent)
    compared = time.perf_counter()
    rect = (0, 0, size, size)
    layers.add_result(image, made.source, made.box, rect, pixels, "again")
    written = time.perf_counter()
    image.delete()
    server = answer.timings
    return {
        "size": size,
        "read_and_encode_s": round(built - began, 3),
        "request_bytes": sum(len(data) for _, data in made.request.images()),
        "server_total_s": round(answered - built, 3),
        "server_edit_s": round(server["edit"], 3),
        "result_bytes": len(answer.image),
        "result_to_layer_s": round(added - answered, 3),
        "decode_s": round(decoded - added, 3),
        "compare_s": round(compared - decoded, 3),
        "write_s": round(written - compared, 3),
    }


layers.init()
for size in SPEC["sizes"]:  # noqa: F821
    for _ in range(SPEC["repeats"]):  # noqa: F821
        print("PIXELS-BENCH", json.dumps(edit(size)), flush=True)
print("PIXELS-BENCH done", flush=True)
