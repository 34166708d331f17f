"""The engine on a GPU vs a bare batched loop vs the one-clip pattern: MuQ-large size, random.

    benchmarks/gpu.sh [--recordings 64] [--minutes 10] [--one-clip 96] [--workers 8]

Downloads nothing: the model is MuQ-large's architecture with RANDOM weights (labelled), the
audio is synthesized here and written as 24 kHz mono 16-bit WAV, what the tiers' audio steps
write (the engine reads it without ffmpeg). Measured in one run, on the same model instance:
  (b32) bare loop, fp32: pre-decoded batches in pinned memory, copy, forward; no hashing, no
        decoding, no store (TF32 as PyTorch defaults: off);
  (b16) bare loop, bf16 autocast: the same;
  (a)   engine: `embed_recordings` on the WAV files (hash, read, batch, bf16 autocast, copy the
        float16 frames back, write one safetensors file per recording), default EngineConfig;
  (c)   one-clip pattern: per clip read the file, copy, forward at bf16 with a batch of 1, copy
        the frames back (a subset of clips).
Targets (H100/H200 class): a >= 0.9 x b16, and a >= 600 segments/s. Then decode scaling of the
engine's reader on this machine's CPU cores. Everything ends within `--budget-s` (default 280).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
import wave
from pathlib import Path

import numpy as np
import torch

from piano_assets.engine import (
    SAMPLE_RATE,
    Embedder,
    EmbedderConfig,
    EngineConfig,
    RecordingAudio,
    SegmentPolicy,
    build_embedder,
    embed_recordings,
)
from piano_assets.sample.synth import piano_notes

TFLOP_PER_SEGMENT = 0.47  # MuQ-large, 750 frames (benchmarks/README.md)
SEGMENT = 30 * SAMPLE_RATE
STARTED = time.perf_counter()


def elapsed() -> str:
    return f"[{time.perf_counter() - STARTED:5.0f} s]"


def write_recordings(folder: Path, count: int, minutes: float) -> list[Path]:
    """`count` WAVs of `minutes`, tiled from 8 distinct 30 s clips (content is irrelevant here)."""
    folder.mkdir(parents=True, exist_ok=True)
    clips = [
        (np.clip(piano_notes(30.0, seed=seed), -1, 1) * 32767).astype("<i2") for seed in range(8)
    ]
    per_recording = round(minutes * 2)
    rng = np.random.default_rng(0)
    paths = []
    for number in range(count):
        order = rng.integers(0, len(clips), per_recording)
        path = folder / f"rec{number:04d}.wav"
        with wave.open(str(path), "wb") as handle:
            handle.setnchannels(1)
            handle.setsampwidth(2)
            handle.setframerate(SAMPLE_RATE)
            for index in order:
                handle.writeframesraw(clips[index].tobytes())
        paths.append(path)
    return paths


def read_segments(paths: list[Path], limit: int) -> list[np.ndarray]:
    """Up to `limit` 30 s float32 windows, for the loops that decode nothing."""
    waves: list[np.ndarray] = []
    for path in paths:
        with wave.open(str(path)) as handle:
            data = np.frombuffer(handle.readframes(handle.getnframes()), dtype="<i2")
        for start in range(0, len(data) - SEGMENT + 1, SEGMENT):
            waves.append(data[start : start + SEGMENT].astype(np.float32) / 32768.0)
            if len(waves) == limit:
                return waves
    return waves


def _autocast(embedder: Embedder, dtype: torch.dtype) -> torch.autocast:
    on_cuda = embedder.device.type == "cuda"
    return torch.autocast("cuda" if on_cuda else "cpu", dtype=dtype, enabled=on_cuda)


def _synchronize(embedder: Embedder) -> None:
    if embedder.device.type == "cuda":
        torch.cuda.synchronize()


def bare_loop(embedder: Embedder, waves: list[np.ndarray], batch: int, dtype: torch.dtype) -> float:
    on_cuda = embedder.device.type == "cuda"
    batches = [
        torch.from_numpy(np.stack(waves[i : i + batch])) for i in range(0, len(waves), batch)
    ]
    batches = [host.pin_memory() for host in batches] if on_cuda else batches
    autocast = _autocast(embedder, dtype)

    def run(selected: list[torch.Tensor]) -> None:
        with torch.inference_mode(), autocast:
            for host in selected:
                device = host.to(embedder.device, non_blocking=True)
                embedder.model(device, output_hidden_states=False).last_hidden_state.half()
        _synchronize(embedder)

    run(batches[:2])  # warm-up
    start = time.perf_counter()
    run(batches)
    return len(waves) / (time.perf_counter() - start)


def one_clip(embedder: Embedder, paths: list[Path], clips: int) -> float:
    import soundfile

    def run(count: int) -> None:
        done = 0
        with torch.inference_mode(), _autocast(embedder, torch.bfloat16):
            for path in paths:
                audio, _rate = soundfile.read(path, dtype="float32")
                for start in range(0, len(audio) - SEGMENT + 1, SEGMENT):
                    clip = torch.from_numpy(audio[start : start + SEGMENT])[None, :]
                    hidden = embedder.model(clip.to(embedder.device), output_hidden_states=False)
                    hidden.last_hidden_state.float().cpu()
                    done += 1
                    if done == count:
                        return

    run(4)  # warm-up
    start = time.perf_counter()
    run(clips)
    return clips / (time.perf_counter() - start)


def engine_rate(embedder: Embedder, paths: list[Path], out: Path, workers: int | None) -> float:
    policy = SegmentPolicy()
    recordings = [RecordingAudio(p.stem, p) for p in paths]
    warm = out / "warm-up"
    embed_recordings(recordings[:2], embedder, warm, policy, config=EngineConfig())
    shutil.rmtree(warm, ignore_errors=True)
    start = time.perf_counter()
    outcomes = embed_recordings(
        recordings, embedder, out / "engine", policy, config=EngineConfig(decode_workers=workers)
    )
    wall = time.perf_counter() - start
    failed = [o for o in outcomes if not o.ok]
    if failed:
        raise SystemExit(f"engine failed on {len(failed)} recordings: {failed[0].error}")
    return sum(o.n_segments for o in outcomes) / wall


def report(name: str, rate: float, reference: float | None = None) -> None:
    versus = f"  {rate / reference:.2f}x the bf16 bare loop" if reference else ""
    print(
        f"{elapsed()} {name:<44}{rate:>9.1f} segments/s"
        f"  (~{rate * TFLOP_PER_SEGMENT:.0f} TFLOP/s){versus}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recordings", type=int, default=64)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--bare-segments", type=int, default=768)
    parser.add_argument("--one-clip", type=int, default=96)
    parser.add_argument("--workers", type=int, default=None, help="decode workers (auto)")
    parser.add_argument("--scratch", type=Path, default=None)
    parser.add_argument("--skip-scaling", action="store_true")
    # Exercises this script on a CPU with the tiny model (no figure from it means anything).
    parser.add_argument("--smoke-cpu", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.smoke_cpu:
        config = EmbedderConfig(mode="random", random_size="tiny", device="cpu", batch_size=4)
        print(f"{elapsed()} SMOKE RUN on a CPU with the tiny model: the figures mean nothing")
    elif not torch.cuda.is_available():
        raise SystemExit("no CUDA device: this benchmark is for a GPU machine")
    else:
        config = EmbedderConfig(
            mode="random", random_size="full", device="cuda", compute_dtype="bfloat16"
        )
        print(f"{elapsed()} {torch.cuda.get_device_name(0)}; torch {torch.__version__}")
    print(f"{elapsed()} cpus {len(os.sched_getaffinity(0))}", flush=True)
    embedder = build_embedder(config)
    print(f"{elapsed()} model: {embedder.label} (random weights: speed only)", flush=True)
    batch = embedder.batch_size
    if embedder.device.type == "cuda":
        free, total = torch.cuda.mem_get_info()
        print(
            f"{elapsed()} auto batch size: {batch} segments of 30 s "
            f"(GPU memory {free / 2**30:.0f} of {total / 2**30:.0f} GiB free)",
            flush=True,
        )
    scratch = Path(tempfile.mkdtemp(prefix="piano-assets-gpu-", dir=args.scratch))
    try:
        paths = write_recordings(scratch / "audio", args.recordings, args.minutes)
        segments = args.recordings * round(args.minutes * 2)
        print(f"{elapsed()} {len(paths)} recordings, {segments} segments written", flush=True)
        waves = read_segments(paths, args.bare_segments)
        b16 = bare_loop(embedder, waves, batch, torch.bfloat16)
        report(f"(b16) bare loop, bf16, batch {batch}", b16)
        b32 = bare_loop(embedder, waves, batch, torch.float32)
        report(f"(b32) bare loop, fp32, batch {batch}", b32, b16)
        del waves
        engine = engine_rate(embedder, paths, scratch, args.workers)
        report("(a) engine, bf16, files in and out", engine, b16)
        single = one_clip(embedder, paths, args.one_clip)
        report("(c) one-clip pattern, bf16, batch 1", single, b16)
        verdict = {True: "met", False: "MISSED"}
        print(
            f"targets: a/b16 {engine / b16:.2f}x (>= 0.9x: {verdict[engine >= 0.9 * b16]}); "
            f"a {engine:.0f} segments/s (>= 600: {verdict[engine >= 600]}); "
            f"a/c {engine / single:.1f}x; b16/b32 {b16 / b32:.1f}x",
            flush=True,
        )
        if not args.skip_scaling:
            sys.path.insert(0, str(Path(__file__).parent))
            from bench_overlap import measure_scaling

            cores = len(os.sched_getaffinity(0))
            counts = sorted({1, 2, 4, min(8, cores), cores})
            inputs = {"24 kHz mono WAV (direct)": paths[:32]}
            measure_scaling(scratch / "scaling", inputs, counts, 1)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"{elapsed()} done")


if __name__ == "__main__":
    main()
