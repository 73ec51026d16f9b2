#!/usr/bin/env bash
# The GPU checks, run through the device tool on a lent H100/H200 (one session's 15
# minutes: run the stages that are open, not all of them at once):
#   engine:   the sampler, editor and compiled tests on CUDA, then bench_engine.py with
#             the full-size SDXL-base architecture (random weights), fp16, 1024x1024;
#   families: bench_engine.py for FLUX.1-dev (28 steps) and schnell-like 4 steps, and
#             SD3.5 large (28 steps), bf16, 1024x1024, against each family's own img2img;
#   compile:  PIXELS compiled (blocks, then full) against img2img eager, SDXL and FLUX,
#             with each step's achieved rate against the matrix rate measured in the run;
#   server:   bench_server.py (what the server adds; 8 clients), a restart with the
#             compile cache warm to the first edit, and a real CUDA out-of-memory;
#   package:  the PyInstaller server built with this machine's CUDA torch, then its size,
#             start time and the default edit with sdxl-random through it
#             (bench_packaged.py; pyinstaller and its hooks carried as wheels too).
# The device image has torch and transformers but not diffusers, websockets, flask or h11:
# they are carried as wheels in .whl/.   Usage: gpu_check.sh [engine] [families] [compile]
# [server] [package] (all but package by default). With SMOKE=1 (and PYTHON=.venv/bin/python) it runs every stage on the CPU with
# the tiny builds: a dry run of the script itself, which the tests cannot run.
set -u
stages=${*:-engine families compile server}
export PYTHONUNBUFFERED=1 PYTHONPATH=/tmp/site:$PWD PIXELS_CACHE=${PIXELS_CACHE:-/tmp/pixels-cache}
export TRANSFORMERS_VERBOSITY=error
OUT=${OUT:-/tmp/gpu-check}
mkdir -p "$OUT"
PY=${PYTHON:-python3}
if [[ ${SMOKE:-0} == 1 ]]; then
  SDXL=tiny FLUX=tiny-flux SD35=tiny-sd3 SIZE=512 DEVICE=cpu HALF=fp32 TESTDEV=cpu
else
  SDXL=sdxl-random FLUX=flux-random SD35=sd35-random SIZE=1024 DEVICE=cuda HALF=bf16 TESTDEV=cuda
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl || exit 1
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUT/gpu.txt"
fi
$PY -c "import torch, diffusers, transformers as t; print('torch', torch.__version__,
  'diffusers', diffusers.__version__, 'transformers', t.__version__)" | tee -a "$OUT/gpu.txt"
bench() {  # name, then bench_engine.py's arguments
  local name=$1; shift
  timeout 420 $PY benchmarks/bench_engine.py --device "$DEVICE" --size "$SIZE" \
    --json "$OUT/bench-$name.json" "$@" 2>&1 | grep -E 'ratio|tflops|share|"graphs"|seconds"'
}
if [[ $stages == *engine* ]]; then
  PIXELS_TEST_DEVICE=$TESTDEV timeout 300 $PY -m pytest -q -p no:cacheprovider \
    tests/test_sampler.py tests/test_editor.py tests/test_compiled.py 2>&1 | tail -5 \
    | tee "$OUT/pytest-$TESTDEV.txt"
  bench sdxl --model "$SDXL" --steps 50 --strength 0.6 --repeats 6
fi
if [[ $stages == *families* ]]; then
  bench flux-dev --model "$FLUX" --dtype "$HALF" --steps 28 --guidance 3.5 --repeats 3
  bench flux-4-steps --model "$FLUX" --dtype "$HALF" --steps 4 --guidance 3.5 --repeats 3
  bench sd35 --model "$SD35" --dtype "$HALF" --steps 28 --guidance 3.5 --repeats 3
fi
if [[ $stages == *compile* ]]; then
  bench sdxl-blocks --model "$SDXL" --steps 50 --compile blocks --repeats 4
  bench sdxl-full --model "$SDXL" --steps 50 --compile full --repeats 4
  bench flux-blocks --model "$FLUX" --dtype "$HALF" --steps 28 --guidance 3.5 --compile blocks --repeats 3
fi
if [[ $stages == *server* ]]; then
  (cd benchmarks && timeout 240 $PY bench_server.py --model "$SDXL" --device "$DEVICE" \
    --repeats 5 2>&1 | grep -v Warning | tee "$OUT/bench-server.txt")
  timeout 420 $PY benchmarks/bench_restart.py --model "$SDXL" --device "$DEVICE" \
    --compile blocks 2>&1 | tee "$OUT/restart.txt"
  [[ ${SMOKE:-0} == 1 ]] || (cd benchmarks && timeout 240 $PY gpu_oom_check.py 2>&1 \
    | grep -v Warning | tee "$OUT/oom-check.txt")
fi
if [[ $stages == *package* ]]; then
  timeout 540 $PY packaging/build_server.py --dist /tmp/pixels-dist > "$OUT/package-build.txt" 2>&1 \
    || { tail -20 "$OUT/package-build.txt"; exit 1; }
  timeout 300 $PY benchmarks/bench_packaged.py /tmp/pixels-dist/pixels/pixels --model "$SDXL" \
    --device "$DEVICE" --size "$SIZE" 2>&1 | grep -v Warning | tee "$OUT/packaged.txt"
fi
