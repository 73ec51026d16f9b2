"""`pixels map`: apply the map tools to one map and save it, to see what an edit will use."""

from pixels_engine.images import load_grey, load_rgba, save_image

from .options import add_param_options, params_from


def register(commands) -> None:
    parser = commands.add_parser("map", help="make or adjust an edit map", description=__doc__)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--map", help="a grey map to adjust (white keeps the source)")
    source.add_argument(
        "--from-alpha", metavar="EXEMPLAR", help="derive the map from this exemplar layer's alpha"
    )
    parser.add_argument("--out", required=True, help="where to write the map")
    add_param_options(parser, groups=("maps",))
    parser.set_defaults(run=run)


def run(args) -> int:
    from pixels_engine import EditSettings, maps

    settings = EditSettings(**params_from(args))
    if args.map:
        m = load_grey(args.map, "map")
    else:
        m = maps.from_alpha(load_rgba(args.from_alpha, "exemplar")[..., 3], settings.transition)
    save_image(maps.snap(settings.map_ops.apply(m)), args.out)
    print(f"wrote {args.out}")
    return 0
