"""PIXELS edit against the family's own diffusers img2img on the same model, canvas,
steps and seed.

Both run alternately in one process (the machine's load affects both alike) and the
script prints the median time ratio and, on a GPU, the peak-memory ratio. It also counts
the denoiser's calls (UNet or transformer), which must be equal: PIXELS adds no model call.

    python benchmarks/bench_engine.py                          # tiny SDXL, 512x512, CPU
    python benchmarks/bench_engine.py --model tiny-flux --steps 28
    python benchmarks/bench_engine.py --model sdxl-random --size 1024 --steps 50
    python benchmarks/bench_engine.py --model flux-random --size 1024 --steps 28 --dtype bf16
    python benchmarks/bench_engine.py --model sdxl-random --size 1024 --steps 50 --compile full

It also reports one denoising step's achieved rate (FLOPs counted by torch, over the
median step time) against the device's dense matrix rate measured in the same run.
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
from diffusers import EulerDiscreteScheduler  # noqa: E402
from PIL import Image  # noqa: E402

from pixels_cli import samples  # noqa: E402
from pixels_engine import Editor, EditSettings, load_model  # noqa: E402
from pixels_engine.catalog import COMPILE_MODES  # noqa: E402
from pixels_engine.compiled import compile_model, warm_up  # noqa: E402
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
    parser.add_argument("--offload", action="store_true")
    parser.add_argument(
        "--compile",
        default="off",
        choices=COMPILE_MODES,
        help="compile PIXELS' denoiser (img2img stays eager): blocks or full, warmed first",
    )
    parser.add_argument("--json", help="also write the figures to this file")
    return parser.parse_args()


def baseline_pipeline(model):
    """The family's img2img from the same components and the scheduler PIXELS uses (Euler
    for the Stable Diffusion UNets, whatever the checkpoint names)."""
    components = dict(model.pipe.components)
    if model.family.name == "sd":
        components["scheduler"] = EulerDiscreteScheduler.from_config(model.pipe.scheduler.config)
    pipe = type(model.pipe)(**components)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def denoiser(model):
    return getattr(model.pipe, "unet", None) or model.pipe.transformer


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
    def __init__(self, module):
        self.count = 0
        module.register_forward_hook(self.hook)

    def hook(self, *args):
        self.count += 1


def matmul_tflops(device, dtype) -> float:
    """The device's dense matrix rate in this dtype, measured now (TFLOP/s)."""
    n = 8192 if device.type == "cuda" else 1024
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    for _ in range(3):
        a @ b
    seconds = min(measure(lambda: a @ b, device)[0] for _ in range(10))
    return 2 * n**3 / seconds / 1e12


def step_flops(editor, source, exemplars, settings) -> float:
    """FLOPs of one denoising step (the second: counted from the end of the first to the
    end of the second, so the encodes before are not), counted by torch."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)

    def count(step):
        if step.index == 0:
            counter.__enter__()
        elif step.index == 1:
            counter.__exit__(None, None, None)

    with torch.no_grad():
        editor.edit(source, exemplars, settings, on_step=count)
    return counter.get_total_flops()


def main():
    args = parse_args()
    eager = load_model(args.model, args.device, args.dtype, args.offload)
    model, compiling = eager, None
    if args.compile != "off":
        model, compiling = compile_model(eager, args.compile)
    editor = Editor(model)
    baseline = baseline_pipeline(eager)
    source, exemplars = samples.scene(args.size)
    image = Image.fromarray(to_uint8(source[..., :3]))
    settings = EditSettings(
        steps=args.steps, strength=args.strength, guidance=args.guidance, seed=7
    )

    # Kandinsky 3's pipeline takes the image's own size; the others default to 1024.
    size = {} if model.family.name == "kandinsky3" else {"height": args.size, "width": args.size}

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
            **size,
        )

    results = []

    def pixels():
        result = editor.edit(source, exemplars, settings)
        assert result.working_size == (args.size, args.size), result.working_size
        results.append(result)

    if compiling is not None:
        began = time.perf_counter()
        warm_up(editor, compiling, [(args.size, args.size)])
        compile_seconds = time.perf_counter() - began
    counter = CallCounter(denoiser(eager))
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
        "family": model.family.schema_name,
        "random_weights": model.random_weights,
        "device": device_name(model.device),
        "dtype": str(model.dtype),
        "canvas": args.size,
        "steps_run": results[-1].steps_run,
        "exemplars": len(exemplars),
        "model_calls": calls,
        "median_seconds": median,
        "all_seconds": times,
        "pixels_breakdown_last": results[-1].timings,
        "time_ratio": median["pixels"] / median["img2img"],
        # each repeat's two runs are neighbours in time: their ratio resists a noisy machine
        "paired_time_ratio": statistics.median(
            p / b for p, b in zip(times["pixels"], times["img2img"], strict=True)
        ),
    }
    if compiling is not None:
        figures["compile"] = {
            "mode": args.compile,
            "seconds": compile_seconds,
            "graphs": compiling.compiles,
            "artifacts_loaded": compiling.loaded,
        }
    flops = step_flops(Editor(eager), source, exemplars, settings)
    steps = results[-1].steps_run
    step_seconds = statistics.median(r.timings["sample"] for r in results[1:]) / steps
    figures["step"] = {
        "tflop": flops / 1e12,
        "seconds": step_seconds,
        "tflops": flops / step_seconds / 1e12,
        "matmul_tflops": matmul_tflops(model.device, model.dtype),
    }
    figures["step"]["share_of_matmul_rate"] = (
        figures["step"]["tflops"] / figures["step"]["matmul_tflops"]
    )
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
