#!/usr/bin/env bash
# The GPU benchmark in one command, for a CUDA machine (H100/H200 class): at most 5 minutes,
# downloads nothing (MuQ-large architecture with random weights, synthesized audio).
#   benchmarks/gpu.sh [bench_gpu.py options]      PYTHON=/path/to/python to pick the interpreter
set -euo pipefail
cd "$(dirname "$0")/.."
python="${PYTHON:-.venv/bin/python}"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
exec timeout --signal=INT --kill-after=15 300 \
    env PYTHONPATH="$PWD" HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 \
    "$python" benchmarks/bench_gpu.py "$@"
