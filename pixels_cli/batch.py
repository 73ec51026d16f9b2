"""`pixels batch`: one edit recipe over many pictures, with the model loaded once.

    pixels batch edits.jsonl --out results/ [--model sdxl]
    pixels batch edits.jsonl --out results/ --ray            # a local Ray cluster
    pixels batch edits.jsonl --out /shared/results --ray HEAD:6379 --workers 8

Every line of the manifest is checked before any work; a bad line is reported with its
number and field and the good ones still run. Each result is OUT/ID.png, written whole
or not at all; OUT/report.jsonl records every item (done, skipped, failed; seed, timings,
error), each run's lines appended with the time it began as their "run". A rerun skips
the items whose result is there for the same inputs, parameters and model, and removes
what a killed run left half-written. Ctrl-C stops after the edits under way, with nothing
half-written.
"""

import argparse
import json
import os
import signal
import sys
from datetime import datetime, timezone
from pathlib import Path

from pixels_engine.errors import PixelsError

from .batch_edit import Record, edit_item, leftovers
from .manifest import read
from .options import add_model_options


def register(commands) -> None:
    parser = commands.add_parser(
        "batch",
        help="run a manifest of edits (JSON Lines), here or on a Ray cluster",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("manifest", type=Path, help="JSON Lines: one edit a line")
    parser.add_argument("--out", type=Path, required=True, help="folder of the results")
    add_model_options(parser)
    parser.add_argument(
        "--ray",
        nargs="?",
        const="local",
        metavar="ADDRESS",
        help="run on a Ray cluster (HOST:PORT of its head; without one, a local cluster "
        "started for the run). Needs pip install 'pixels-studio[batch]'",
    )
    parser.add_argument(
        "--workers",
        type=int,
        help="Ray workers, each with its own model (default: one per GPU, else 2)",
    )
    parser.set_defaults(run=run)


class Report:
    """report.jsonl, a line per item as it ends (flushed: a crash keeps what was done),
    appended to the lines of earlier runs; each line names its run by the time it began."""

    def __init__(self, path: Path):
        self.run = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
        self.file = path.open("a", encoding="utf-8")
        if self.file.tell() and not ends_a_line(path):  # a run killed mid-line
            self.file.write("\n")
        self.counts = {"done": 0, "skipped": 0, "failed": 0}

    def add(self, record: Record) -> None:
        self.file.write(json.dumps({"run": self.run, **record.as_dict()}) + "\n")
        self.file.flush()
        self.counts[record.status] += 1
        if record.status == "failed":
            where = f"{record.field}: " if record.field else ""
            name = f" ({record.id})" if record.id else ""
            print(f"pixels batch: line {record.line}{name}: {where}{record.error}", file=sys.stderr)

    def close(self) -> None:
        self.file.close()


def ends_a_line(path: Path) -> bool:
    """Whether the file's last byte ends a line (a kill may cut one short)."""
    with path.open("rb") as f:
        f.seek(-1, os.SEEK_END)
        return f.read(1) == b"\n"


class Stop:
    """Ctrl-C asks the batch to stop after the edits under way; a second one stops now."""

    def __init__(self):
        self.asked = False
        self.previous = signal.signal(signal.SIGINT, self.ask)

    def ask(self, *_):
        if self.asked:
            raise KeyboardInterrupt
        self.asked = True
        print("\npixels batch: stopping after the edits under way", file=sys.stderr)

    def restore(self) -> None:
        signal.signal(signal.SIGINT, self.previous)


def run(args) -> int:
    if not args.manifest.is_file():
        raise PixelsError(f"no manifest {args.manifest}")
    if args.workers is not None and args.workers < 1:
        raise PixelsError("must be 1 or more", "workers")
    manifest = read(args.manifest)
    args.out.mkdir(parents=True, exist_ok=True)
    for item in manifest.items:  # a killed run's half-written results
        for leftover in leftovers(item, args.out):
            leftover.unlink(missing_ok=True)
    report, stop = Report(args.out / "report.jsonl"), Stop()
    try:
        for failure in manifest.failures:
            report.add(
                Record(
                    failure.line, failure.id, "failed", field=failure.field, error=failure.message
                )
            )
        if args.ray:
            from .batch_ray import run_on_ray

            run_on_ray(manifest.items, args, report, stop)
        else:
            run_here(manifest.items, args, report, stop)
    finally:
        stop.restore()
        report.close()
    counts = report.counts
    left = len(manifest.items) + len(manifest.failures) - sum(counts.values())
    print(
        f"pixels batch: {counts['done']} done, {counts['skipped']} already done, "
        f"{counts['failed']} failed"
        + (f", {left} not started (stopped)" if left else "")
        + f"; report in {args.out / 'report.jsonl'}"
    )
    return 1 if counts["failed"] or left else 0


def run_here(items, args, report: Report, stop: Stop) -> None:
    """The items in turn on this machine, the model loaded once."""
    from tqdm import tqdm

    from pixels_engine import Editor, load_model

    from .edit import DownloadBar

    if not items:
        return
    with DownloadBar(args.model) as downloaded:
        model = load_model(args.model, args.device, args.dtype, args.offload, downloaded)
    if args.compile != "off":
        from pixels_engine.compiled import compile_model

        model, _ = compile_model(model, args.compile)
    if model.random_weights:
        print(f"note: model '{model.name}' has RANDOM weights.", file=sys.stderr)
    editor = Editor(model)
    with tqdm(items, desc="pixels batch", unit="edit", file=sys.stderr) as bar:
        for item in bar:
            if stop.asked:
                break
            report.add(edit_item(editor, item, args.out))
