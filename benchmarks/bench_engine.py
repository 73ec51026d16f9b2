"""PIXELS edit against diffusers' own img2img on the same model, canvas, steps and seed.

Both run alternately in one process (the machine's load affects both alike) and the
script prints the median time ratio and, on a GPU, the peak-memory ratio. It also counts
UNet calls, which must be equal: PIXELS adds no model call.

    python benchmarks/bench_engine.py                      # tiny model, 512x512, CPU
    python benchmarks/bench_engine.py --model sdxl-random --size 1024 --steps 50
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time

os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import torch  # noqa: E402
from diffusers import (  # noqa: E402
    EulerDiscreteScheduler,
    StableDiffusionImg2ImgPipeline,
    StableDiffusionXLImg2ImgPipeline,
)
from PIL import Image  # noqa: E402

from pixels_cli import samples  # noqa: E402
from pixels_engine import Editor, EditSettings, load_model  # noqa: E402
from pixels_engine.images import to_uint8  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="tiny")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--strength", type=float, default=0.6)
    parser.add_argument("--guidance", type=float, default=5.0)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--dtype", default="auto")
    parser.add_argument("--json", help="also write the figures to this file")
    return parser.parse_args()


def baseline_pipeline(model):
    """img2img from the same components, with the same Euler scheduler PIXELS uses."""
    cls = StableDiffusionXLImg2ImgPipeline if model.is_sdxl else StableDiffusionImg2ImgPipeline
    components = dict(model.pipe.components)
    components["scheduler"] = EulerDiscreteScheduler.from_config(model.pipe.scheduler.config)
    pipe = cls(**components)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def synchronize(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def measure(run, device):
    """Seconds and peak device memory (bytes, GPU only) of one call."""
    synchronize(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    began = time.perf_counter()
    run()
    synchronize(device)
    seconds = time.perf_counter() - began
    peak = torch.cuda.max_memory_allocated() if device.type == "cuda" else None
    return seconds, peak


def device_name(device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name()
    return f"{platform.machine()} CPU, {os.cpu_count()} cores"


class CallCounter:
    def __init__(self, unet):
        self.count = 0
        unet.register_forward_hook(self.hook)

    def hook(self, *args):
        self.count += 1


def main():
    args = parse_args()
    model = load_model(args.model, args.device, args.dtype)
    editor = Editor(model)
    baseline = baseline_pipeline(model)
    source, exemplars = samples.scene(args.size)
    image = Image.fromarray(to_uint8(source[..., :3]))
    settings = EditSettings(
        steps=args.steps, strength=args.strength, guidance=args.guidance, seed=7
    )

    def img2img():
        generator = torch.Generator("cpu").manual_seed(7)
        baseline(
            prompt="",
            image=image,
            strength=args.strength,
            guidance_scale=args.guidance,
            num_inference_steps=args.steps,
            generator=generator,
            output_type="np",
        )

    breakdown = []

    def pixels():
        result = editor.edit(source, exemplars, settings)
        assert result.working_size == (args.size, args.size), result.working_size
        breakdown.append(result.timings)

    counter = CallCounter(model.pipe.unet)
    calls = {}
    for name, run in (("img2img", img2img), ("pixels", pixels)):  # warm-up, and call counts
        counter.count = 0
        run()
        calls[name] = counter.count
    times = {"img2img": [], "pixels": []}
    peaks = {"img2img": [], "pixels": []}
    for r in range(args.repeats):
        order = [("img2img", img2img), ("pixels", pixels)]
        for name, run in order if r % 2 == 0 else order[::-1]:
            seconds, peak = measure(run, model.device)
            times[name].append(seconds)
            peaks[name].append(peak)
    median = {k: statistics.median(v) for k, v in times.items()}
    figures = {
        "model": args.model,
        "random_weights": model.random_weights,
        "device": torch.cuda.get_device_name()
        if model.device.type == "cuda"
        else platform.processor() or platform.machine(),
        "dtype": str(model.dtype),
        "canvas": args.size,
        "steps_run": int(args.steps * args.strength),
        "exemplars": len(exemplars),
        "unet_calls": calls,
        "median_seconds": median,
        "all_seconds": times,
        "pixels_breakdown_last": breakdown[-1],
        "time_ratio": median["pixels"] / median["img2img"],
        # each repeat's two runs are neighbours in time: their ratio resists a noisy machine
        "paired_time_ratio": statistics.median(
            p / b for p, b in zip(times["pixels"], times["img2img"], strict=True)
        ),
    }
    if model.device.type == "cuda":
        figures["peak_bytes"] = {k: max(v) for k, v in peaks.items()}
        figures["memory_ratio"] = max(peaks["pixels"]) / max(peaks["img2img"])
    print(json.dumps(figures, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(figures, f, indent=2)
    return 0 if calls["pixels"] == calls["img2img"] else 1


if __name__ == "__main__":
    sys.exit(main())
