"""`pixels edit`: one PIXELS edit from files, with a progress bar.

    pixels edit --source room.png --exemplar lake.png --map lake-map.png \\
                --exemplar rug.png --out edited.png

Each --map belongs to the --exemplar before it; a --map before any exemplar is the
global map (used by exemplars without their own, and alone when there are none).
"""

import argparse
import sys
from pathlib import Path

from pixels_engine.errors import PixelsError
from pixels_engine.images import load_grey, load_rgba, save_image

from .options import add_model_options, add_param_options, given, params_from


class AddExemplar(argparse.Action):
    """--exemplar PATH: start a new exemplar entry."""

    def __call__(self, parser, namespace, value, option_string=None):
        namespace.layers = [*(namespace.layers or []), {"image": value, "map": None}]


class AddMap(argparse.Action):
    """--map PATH: the map of the exemplar just named, or the global map."""

    def __call__(self, parser, namespace, value, option_string=None):
        layers = namespace.layers or []
        if not layers:
            if namespace.global_map is not None:
                parser.error("--map: a second global map; give each --exemplar its own --map")
            namespace.global_map = value
        elif layers[-1]["map"] is not None:
            parser.error(f"--map {value}: exemplar {layers[-1]['image']} already has a map")
        else:
            layers[-1]["map"] = value


def register(commands) -> None:
    parser = commands.add_parser(
        "edit",
        help="edit an image with exemplars and edit maps",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(layers=[], global_map=None, run=run)
    parser.add_argument("--source", required=True, help="the picture to edit")
    parser.add_argument(
        "--exemplar",
        action=AddExemplar,
        metavar="PATH",
        help="an exemplar layer on the source canvas (repeatable)",
    )
    parser.add_argument(
        "--map",
        action=AddMap,
        metavar="PATH",
        help="edit map: white keeps, black takes the exemplar, grey in between",
    )
    parser.add_argument("--out", required=True, help="where to write the edited picture")
    add_model_options(parser)
    parser.add_argument(
        "--server",
        metavar="URL",
        help="run the edit on a `pixels serve` (e.g. 127.0.0.1:7860); its model is used",
    )
    add_param_options(parser)


def read_inputs(args):
    """The source, the exemplars (image, map) and the global map, read before any model
    is loaded so that a wrong path fails in a second, not after a minute of loading."""
    source = load_rgba(args.source, "source")
    exemplars = []
    for k, layer in enumerate(args.layers, start=1):
        image = load_rgba(layer["image"], f"exemplar {k}")
        m = load_grey(layer["map"], f"map of exemplar {k}") if layer["map"] else None
        exemplars.append((image, m))
    global_map = load_grey(args.global_map, "global map") if args.global_map else None
    return source, exemplars, global_map


def run(args) -> int:
    params_from(args)  # a wrong flag fails now, not after a minute of loading
    source, exemplars, global_map = read_inputs(args)
    out = Path(args.out)
    if not out.parent.is_dir():
        raise PixelsError(f"--out {out}: folder {out.parent} does not exist.")
    if args.server:
        from . import remote  # the client only: no torch for an edit on a server

        return remote.run(args, given(args), source, exemplars, global_map)
    return run_here(args, source, exemplars, global_map)


class DownloadBar:
    """A byte progress bar on stderr, shown once a model download starts (most loads
    download nothing)."""

    def __init__(self, model: str):
        self.model, self.bar = model, None

    def __enter__(self):
        return self

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(desc=f"downloading {self.model}", unit="B", unit_scale=True)
        self.bar.total = total
        self.bar.update(done - self.bar.n)

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.close()


def run_here(args, source, exemplars, global_map) -> int:
    from tqdm import tqdm

    from pixels_engine import Editor, EditSettings, Exemplar, load_model

    with DownloadBar(args.model) as downloaded:
        model = load_model(args.model, args.device, args.dtype, args.offload, downloaded)
    if model.random_weights:
        print(
            f"note: model '{model.name}' has RANDOM weights: the edited area will look like "
            "noise. Use --model sdxl (or a local checkpoint) for real edits.",
            file=sys.stderr,
        )
    params = params_from(args, model.family.schema_name)
    if args.compile != "off":
        from pixels_engine.compiled import compile_model

        model, _ = compile_model(model, args.compile)
    editor = Editor(model)
    layers = [Exemplar(image, m) for image, m in exemplars]
    with tqdm(desc="PIXELS", unit="step", file=sys.stderr) as bar:

        def on_step(step):
            bar.total = step.total
            bar.update(step.index + 1 - bar.n)

        result = editor.edit(source, layers, EditSettings(**params), global_map, on_step)
    out = Path(args.out)
    save_image(result.image, out)
    if result.region is None:
        print(f"wrote {out} (every map is white: nothing to change) seed={result.seed}")
    else:
        print(
            f"wrote {out} seed={result.seed} steps={result.steps_run} region={result.region} "
            f"working_size={result.working_size[0]}x{result.working_size[1]} "
            f"device={model.device} time={result.timings['total']:.1f}s"
        )
    return 0
