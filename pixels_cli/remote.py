"""`pixels edit --server URL`: the same edit, run by a `pixels serve` instead of here.

The layers are read and checked here (any format the local edit takes), sent as PNG
(maps as 16-bit grey, so no precision is lost), and the result written like a local one.
The token, if the server wants one, comes from $PIXELS_TOKEN.
"""

import io
import os
import sys

import numpy as np
from PIL import Image
from tqdm import tqdm

from pixels_client import Client, ClientError, EditRequest, JobError, Layer, Progress
from pixels_contract import schema
from pixels_engine.errors import PixelsError
from pixels_engine.images import save_image, to_rgba, to_uint8


def run(args, params, source, exemplars, global_map) -> int:
    request = EditRequest(
        rgba_png(source),
        [Layer(rgba_png(image), None if m is None else grey_png(m)) for image, m in exemplars],
        None if global_map is None else grey_png(global_map),
        params,
    )
    try:
        with (
            Client(args.server, token=os.environ.get("PIXELS_TOKEN")) as client,
            tqdm(desc="PIXELS (server)", unit="step", file=sys.stderr) as bar,
        ):
            job = client.submit(request)
            for event in job.events():
                if isinstance(event, Progress):
                    bar.total = event.total
                    bar.update(event.step - bar.n)
            result = job.result()
    except JobError as e:  # the server names the field on the wire: params.grow
        field = e.field.removeprefix("params.") if e.field else None
        text = e.args[0].removeprefix(f"{e.field}: ") if e.field else str(e)
        raise PixelsError(text, field if field in schema.BY_NAME else None) from None
    except ClientError as e:
        raise PixelsError(f"--server {args.server}: {e}") from None
    save_image(to_rgba(Image.open(io.BytesIO(result.image))), args.out)
    print(
        f"wrote {args.out} seed={result.seed} steps={result.steps_run} region={result.region} "
        f"server={args.server} time={result.timings.get('total', 0.0):.1f}s"
    )
    return 0


def rgba_png(array: np.ndarray) -> bytes:
    return png_bytes(Image.fromarray(to_uint8(array)))


def grey_png(array: np.ndarray) -> bytes:
    deep = np.clip(np.rint(array * 65535.0), 0, 65535).astype(np.uint16)
    return png_bytes(Image.fromarray(deep))


def png_bytes(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()
