#!/usr/bin/env bash
# The GPU checks, run through the device tool on a lent H100/H200:
#   engine: the sampler and editor tests on CUDA, then bench_engine.py with the full-size
#     SDXL-base architecture (random weights) in fp16 at 1024x1024, 30 steps run;
#   server: bench_server.py with that model, then a real CUDA out-of-memory in the server.
# The device image has torch and transformers but not diffusers, websockets or flask:
# they are carried as wheels in .whl/.     Usage: gpu_check.sh [engine] [server]
set -u
stages=${*:-engine server}
export PYTHONUNBUFFERED=1 PYTHONPATH=/tmp/site:$PWD PIXELS_CACHE=/tmp/pixels-cache
export TRANSFORMERS_VERBOSITY=error
OUT=${OUT:-/tmp/gpu-check}
mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
  --target /tmp/site .whl/*.whl || exit 1
{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  python3 -c "import torch, diffusers, transformers as t; print('torch', torch.__version__,
    'diffusers', diffusers.__version__, 'transformers', t.__version__)"
} | tee "$OUT/gpu.txt"
if [[ $stages == *engine* ]]; then
PIXELS_TEST_DEVICE=cuda timeout 180 python3 -m pytest -q -p no:cacheprovider \
  tests/test_sampler.py tests/test_editor.py 2>&1 | tail -15 | tee "$OUT/pytest-cuda.txt"
timeout 300 python3 benchmarks/bench_engine.py --model sdxl-random --size 1024 --steps 50 \
  --strength 0.6 --repeats 6 --json "$OUT/bench-sdxl-random.json" 2>&1 | grep -v Warning
timeout 90 python3 benchmarks/bench_engine.py --model tiny --device cuda --repeats 3 \
  --json "$OUT/bench-tiny-cuda.json" 2>&1 | grep ratio
fi
if [[ $stages == *server* ]]; then
cd benchmarks
timeout 240 python3 bench_server.py --model sdxl-random --device cuda --repeats 5 2>&1 \
  | grep -v Warning | tee "$OUT/bench-server-cuda.txt"
timeout 240 python3 gpu_oom_check.py 2>&1 | grep -v Warning | tee "$OUT/oom-check.txt"
fi
