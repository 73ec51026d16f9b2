"""`pixels serve`: run the local edit server for the GIMP and Krita plug-ins.

pixels serve                                  # 127.0.0.1:7860, tiny model
pixels serve --model sdxl --port 7861
PIXELS_TOKEN=secret pixels serve --host 0.0.0.0   # other machines: token required
"""

import argparse
import asyncio
import logging
import os
import sys

from pixels_contract.messages import DEFAULT_HOST, DEFAULT_PORT, EDIT_PATH, Limits
from pixels_engine.errors import PixelsError

from .options import add_model_options


def register(commands) -> None:
    parser = commands.add_parser(
        "serve",
        help="run the local edit server the plug-ins talk to",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    defaults = Limits()
    parser.add_argument("--host", default=DEFAULT_HOST, help="address to listen on")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="0 picks a free port")
    add_model_options(parser)
    parser.add_argument(
        "--token",
        default=os.environ.get("PIXELS_TOKEN"),
        help="secret clients must send (default: $PIXELS_TOKEN); required off loopback",
    )
    parser.add_argument("--queue-size", type=int, default=defaults.queue_size)
    parser.add_argument("--max-pixels", type=int, default=defaults.max_pixels)
    parser.add_argument("--max-steps", type=int, default=defaults.max_steps)
    parser.add_argument("--max-frame-bytes", type=int, default=defaults.max_frame_bytes)
    parser.add_argument(
        "--frame-timeout",
        type=float,
        default=defaults.frame_timeout,
        metavar="S",
        help="seconds each image an edit announces may take to arrive",
    )
    for flag, field, bounded in MEMORY_LIMITS:
        parser.add_argument(
            flag, type=int, default=getattr(defaults, field) // 2**20, metavar="MB", help=bounded
        )
    parser.set_defaults(run=run)


# The limits `pixels serve` takes in MB: (flag, Limits field in bytes, what it bounds).
MEMORY_LIMITS = (
    (
        "--max-job-memory",
        "max_job_bytes",
        "memory one job may need, estimated at submit (larger jobs are refused)",
    ),
    (
        "--max-send-memory",
        "max_send_bytes",
        "messages one client may leave unread before it is dropped",
    ),
    (
        "--max-upload-memory",
        "max_upload_bytes",
        "images of edits still arriving, all clients together (more are refused)",
    ),
)


def torch_version() -> str:
    import torch

    return torch.__version__


def torch_build() -> str:
    """'CUDA 12.8' or 'CPU': the torch this program runs on (a built binary bundles one)."""
    import torch

    return f"CUDA {torch.version.cuda}" if torch.version.cuda else "CPU"


def run(args) -> int:
    from server import Config, Server
    from server.config import bracketed
    from server.console import OneLine

    limits = Limits(
        queue_size=args.queue_size,
        max_pixels=args.max_pixels,
        max_steps=args.max_steps,
        max_frame_bytes=args.max_frame_bytes,
        frame_timeout=args.frame_timeout,
        **{
            field: getattr(args, flag[2:].replace("-", "_")) * 2**20
            for flag, field, _ in MEMORY_LIMITS
        },
    )
    config = Config(
        host=args.host,
        port=args.port,
        model=args.model,
        device=args.device,
        dtype=args.dtype,
        offload=args.offload,
        compile=args.compile,
        token=args.token or None,
        limits=limits,
    )
    console = logging.StreamHandler()
    console.setFormatter(OneLine("pixels serve: %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[console])
    logging.getLogger("websockets").setLevel(logging.WARNING)  # a line per connection is noise
    server = Server(config)

    def ready(server: Server) -> None:
        host = bracketed(args.host)
        print(
            f"pixels serve: listening on http://{host}:{server.port} (status page); plug-ins "
            f"connect to ws://{host}:{server.port}{EDIT_PATH}; loading model {args.model}; "
            f"torch {torch_version()}, {torch_build()} build",
            file=sys.stderr,
            flush=True,
        )

    try:
        asyncio.run(server.serve(ready))
    except OSError as e:  # the port is taken, or the address is not this machine's
        raise PixelsError(
            f"cannot listen on {args.host}:{args.port} ({e.strerror or e}). Is another server "
            "running there? Choose another --port, or --port 0 for a free one."
        ) from None
    return 0
