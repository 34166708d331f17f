"""Does decoding overlap the model, and how does decoding scale with workers? On a CPU.

    .venv/bin/python benchmarks/bench_overlap.py [--recordings 24] [--seconds 75]
        [--workers 2] [--repeats 3] [--scaling 1,2,4]

(a) Overlap. The model is replaced by a STAND-IN that uses no CPU: it sleeps a fixed time per
    batch, as a GPU would, and returns zeros. Inputs are 44.1 kHz stereo WAV, so every segment
    is decoded and resampled by ffmpeg (the expensive path). Measured in one run, alternating:
      decode-only  the engine's reader alone (hash, skip check, ffmpeg, cut), N workers;
      device-only  the stand-in on pre-decoded batches (n_batches x sleep);
      engine       `embed_recordings` with the stand-in, N workers (decode, batch, store);
      sequential   the same with `decode_workers=0` (today's engine: decode, then model).
    The sleep per batch is set so that device-only ~ decode-only, the case where overlap matters
    most. Target: engine <= 1.15 x max(decode-only, device-only); sequential ~ their sum.
(b) Decode scaling: the reader alone with 1, 2, ... workers, on the ffmpeg path (44.1 kHz
    stereo) and on the direct path (24 kHz mono PCM WAV, what the tiers' audio steps write).
Repeats give min and median: the machine may be shared.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from piano_assets.engine import (
    SAMPLE_RATE,
    Embedder,
    EngineConfig,
    RecordingAudio,
    SegmentPolicy,
    embed_recordings,
)
from piano_assets.engine.prefetch import ordered_prefetch
from piano_assets.engine.provenance import code_provenance
from piano_assets.engine.reading import ReadJob, Window, read_recording
from piano_assets.sample.synth import write_piano_wav

STAND_IN_DIM = 8


@dataclass
class _Output:
    last_hidden_state: torch.Tensor


class SleepingStandIn(torch.nn.Module):
    """NOT MuQ: sleeps `seconds_per_batch` (no CPU), returns zeros shaped like MuQ's output."""

    def __init__(self, seconds_per_batch: float) -> None:
        super().__init__()
        self.seconds_per_batch = seconds_per_batch

    def forward(self, wav: torch.Tensor, output_hidden_states: bool = False) -> _Output:
        time.sleep(self.seconds_per_batch)
        frames = wav.shape[1] * 25 // SAMPLE_RATE
        return _Output(torch.zeros(wav.shape[0], frames, STAND_IN_DIM))


def stand_in_embedder(seconds_per_batch: float, batch_size: int) -> Embedder:
    return Embedder(
        SleepingStandIn(seconds_per_batch),
        model_id="STAND-IN-sleeping-no-model",
        is_random=True,
        revision=f"sleep-{seconds_per_batch:.4f}",
        device=torch.device("cpu"),
        batch_size=batch_size,
        pooling="none",
        dim=STAND_IN_DIM,
    )


def decode_only(recordings: list[RecordingAudio], out: Path, workers: int) -> tuple[float, int]:
    """The engine's reader alone: wall seconds and segments read."""
    policy = SegmentPolicy()
    base = code_provenance()
    jobs = [ReadJob(r, out / f"{r.recording_id}.safetensors", policy, base) for r in recordings]
    start = time.perf_counter()
    count = 0
    stream = ordered_prefetch(
        [lambda job=job: read_recording(job) for job in jobs],
        workers=workers,
        max_buffered=2 * 8 + workers,
        counts=lambda event: isinstance(event, Window),
    )
    for event in stream:
        count += isinstance(event, Window)
    return time.perf_counter() - start, count


def device_only(embedder: Embedder, n_segments: int) -> float:
    wave = np.zeros(30 * SAMPLE_RATE, dtype=np.float32)
    size = embedder.batch_size
    start = time.perf_counter()
    for first in range(0, n_segments, size):
        embedder.submit([wave] * min(size, n_segments - first)).result()
    return time.perf_counter() - start


def engine_wall(
    recordings: list[RecordingAudio], embedder: Embedder, out: Path, workers: int
) -> float:
    start = time.perf_counter()
    config = EngineConfig(decode_workers=workers)
    outcomes = embed_recordings(recordings, embedder, out, SegmentPolicy(), config=config)
    wall = time.perf_counter() - start
    assert all(o.ok and not o.skipped_existing for o in outcomes), outcomes
    return wall


def make_inputs(folder: Path, count: int, seconds: float, rate: int, channels: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return [
        write_piano_wav(
            folder / f"r{i:03d}.wav", seconds, sample_rate=rate, channels=channels, seed=i
        )
        for i in range(count)
    ]


def summary(values: list[float]) -> str:
    return f"min {min(values):.2f}, median {statistics.median(values):.2f}"


def measure_overlap(tmp: Path, paths: list[Path], workers: int, batch: int, repeats: int) -> None:
    recordings = [RecordingAudio(p.stem, p) for p in paths]
    decode_s, segments = decode_only(recordings, tmp / "probe", workers)
    n_batches = -(-segments // batch)
    sleep = decode_s / n_batches
    embedder = stand_in_embedder(sleep, batch)
    print(
        f"\n(a) overlap: {len(paths)} recordings, {segments} segments of 30 s (44.1 kHz stereo "
        f"WAV -> ffmpeg), {workers} decode workers, batch {batch}; STAND-IN model (sleeps "
        f"{sleep * 1000:.0f} ms per batch, no CPU, {n_batches} batches)"
    )
    keys = ("decode", "device", "engine", "seq", "ratio")
    rows: dict[str, list[float]] = {key: [] for key in keys}
    for attempt in range(repeats):
        decode, _ = decode_only(recordings, tmp / f"d{attempt}", workers)
        device = device_only(embedder, segments)
        engine = engine_wall(recordings, embedder, tmp / f"e{attempt}", workers)
        sequential = engine_wall(recordings, embedder, tmp / f"s{attempt}", 0)
        decode_one, _ = decode_only(recordings, tmp / f"o{attempt}", 1)
        ratio = engine / max(decode, device)
        for key, value in zip(keys, (decode, device, engine, sequential, ratio), strict=True):
            rows[key].append(value)
        print(
            f"  run {attempt + 1}: decode-only {decode:.2f} s, device-only {device:.2f} s, "
            f"engine {engine:.2f} s -> engine / max = {ratio:.2f}; sequential {sequential:.2f} s "
            f"vs decode-only with 1 thread + device-only {decode_one + device:.2f} s"
        )
    best = min(rows["ratio"])
    speedup = [seq / eng for seq, eng in zip(rows["seq"], rows["engine"], strict=True)]
    print(
        f"  engine / max(decode-only, device-only): {summary(rows['ratio'])} "
        f"(target <= 1.15: {'met' if best <= 1.15 else 'MISSED'}); "
        f"sequential / engine: {summary(speedup)}"
    )


def _cpu_seconds() -> float:
    me, children = (
        resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    )
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def measure_scaling(
    tmp: Path, inputs: dict[str, list[Path]], counts: list[int], repeats: int
) -> None:
    print("\n(b) decode scaling: the engine's reader alone (hash, skip check, decode, cut)")
    print(
        f"  {'input':<30}{'workers':>8}{'segments/s min..max':>22}{'speed-up':>10}"
        f"{'cores busy':>12}{'CPU ms/segment':>16}"
    )
    for label, paths in inputs.items():
        recordings = [RecordingAudio(p.stem, p) for p in paths]
        base = None
        for workers in counts:
            rates, cores, per_segment = [], [], []
            for attempt in range(repeats):
                cpu = _cpu_seconds()
                wall, segments = decode_only(recordings, tmp / f"s-{workers}-{attempt}", workers)
                cpu = _cpu_seconds() - cpu
                rates.append(segments / wall)
                cores.append(cpu / wall)
                per_segment.append(1000 * cpu / segments)
            best = max(rates)
            base = base or best
            print(
                f"  {label:<30}{workers:>8}{min(rates):>11.1f} .. {best:<8.1f}{best / base:>9.2f}x"
                f"{statistics.median(cores):>12.2f}{statistics.median(per_segment):>16.1f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recordings", type=int, default=64)
    # 62 s: two full windows, and a 2 s tail the policy drops: every batch is full-length.
    parser.add_argument("--seconds", type=float, default=62.0)
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--scaling", default="1,2,4")
    parser.add_argument("--skip-overlap", action="store_true")
    args = parser.parse_args()
    print(
        f"cpus {len(os.sched_getaffinity(0))}, load average {os.getloadavg()[0]:.1f} "
        "(a shared machine: read min and median)"
    )
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        stereo = make_inputs(tmp / "in44", args.recordings, args.seconds, 44_100, 2)
        if not args.skip_overlap:
            measure_overlap(tmp, stereo, args.workers, args.batch_size, args.repeats)
        mono = make_inputs(tmp / "in24", args.recordings, args.seconds, 24_000, 1)
        inputs = {"44.1 kHz stereo WAV (ffmpeg)": stereo, "24 kHz mono WAV (direct)": mono}
        counts = [int(n) for n in args.scaling.split(",")]
        measure_scaling(tmp, inputs, counts, args.repeats)


if __name__ == "__main__":
    main()
