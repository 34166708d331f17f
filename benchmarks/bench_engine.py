"""Engine vs a bare batched torch loop vs the old one-clip-at-a-time script, measured in one run.

    .venv/bin/python benchmarks/bench_engine.py [--model tiny|full] [--clips 8]
        [--inputs 44k,24k] [--batch-size auto] [--seconds-long 10800] [--repeats 3]

On the same synthesized 30 s clips and the same model instance, for each input kind:
  44k: 44.1 kHz stereo WAV (a download as it comes; the engine decodes with ffmpeg);
  24k: 24 kHz mono 16-bit WAV (what the tiers' audio steps write; the engine reads it directly);
(a) engine: `embed_recordings` from the files (hash, decode, segment, batch, store), default
    `EngineConfig` (with the model on the CPU: no decode threads, background writes);
(a2) the same with 2 decode threads reading ahead;
(b) bare loop: pre-decoded 24 kHz 30 s arrays stacked into batches, model forward only, at the
    engine's batch size (and at batch 8 for reference);
(c) old script: per clip, soundfile, torchaudio resample to 24 kHz (a no-op for 24k), batch of 1.
Each path runs `--repeats` times after one warm-up forward; min and median are printed (the
machine may be shared), ratios use the medians. Then a synthetic long recording (sine + pink
noise, 44.1 kHz stereo FLAC) is streamed through the engine's reader (decode + resample +
segment) in a fresh child process, which reports its CPU time (its own and ffmpeg's), wall time
and peak memory: the figures a worker would see.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from piano_assets.engine import (
    Embedder,
    EmbedderConfig,
    EngineConfig,
    RecordingAudio,
    SegmentPolicy,
    build_embedder,
    decode_audio,
    embed_recordings,
)
from piano_assets.engine.ffmpeg import ffmpeg_exe
from piano_assets.engine.reading import ReadJob, _windows
from piano_assets.sample.synth import write_piano_wav

RSS_TARGET_MB = 1500


def measure_paths(
    embedder: Embedder, clips: list[Path], tmp: Path, repeats: int, label: str
) -> dict[str, float]:
    policy = SegmentPolicy()
    recordings = [RecordingAudio(p.stem, p) for p in clips]
    waves = [decode_audio(p)[: 30 * 24_000] for p in clips]  # (b) decodes nothing
    n = len(waves)
    batch = embedder.batch_size
    with torch.inference_mode():  # warm-up: first-call allocations count against no path
        embedder.model(torch.from_numpy(waves[0][None, :]), output_hidden_states=False)

    def engine(config: EngineConfig, name: str) -> Callable[[int], None]:
        def run(attempt: int) -> None:
            out = tmp / f"{label}-{name}-{attempt}"
            outcomes = embed_recordings(recordings, embedder, out, policy, config=config)
            assert all(o.ok and not o.skipped_existing for o in outcomes)

        return run

    def bare(size: int) -> Callable[[int], None]:
        def run(_attempt: int) -> None:
            with torch.inference_mode():
                for i in range(0, n, size):
                    stacked = torch.from_numpy(np.stack(waves[i : i + size]))
                    embedder.model(stacked.to(embedder.device), output_hidden_states=False)

        return run

    import soundfile  # imported here so the streaming child process does not pay for them
    import torchaudio

    def old(_attempt: int) -> None:
        with torch.inference_mode():
            for path in clips:
                audio, rate = soundfile.read(path, dtype="float32", always_2d=True)
                mono = torch.from_numpy(audio.mean(axis=1))
                wav = torchaudio.functional.resample(mono, rate, 24_000)
                hidden = embedder.model(
                    wav[None, :].to(embedder.device), output_hidden_states=False
                ).last_hidden_state
                hidden.float().cpu()

    paths = {
        "(a) engine, default config": engine(EngineConfig(), "engine"),
        "(a2) engine, 2 decode threads": engine(EngineConfig(decode_workers=2), "threads"),
        f"(b) bare batched loop, batch {batch}": bare(batch),
        "(b8) bare batched loop, batch 8": bare(8),
        "(c) old one-clip-at-a-time": old,
    }
    results: dict[str, list[float]] = {}
    for attempt in range(repeats):  # interleaved, so a busy spell hits every path alike
        for name, run in paths.items():
            start = time.perf_counter()
            run(attempt)
            results.setdefault(name, []).append(time.perf_counter() - start)
    print(f"\ninputs: {label}; {n} clips of 30 s; engine batch {batch}")
    print(f"{'path':<42}{'min s':>8}{'median s':>10}{'seg/s (median)':>16}")
    medians = {name: statistics.median(times) for name, times in results.items()}
    minimums = {name: min(times) for name, times in results.items()}
    for name in results:
        print(f"{name:<42}{minimums[name]:>8.2f}{medians[name]:>10.2f}{n / medians[name]:>16.2f}")
    engine, threads = "(a) engine, default config", "(a2) engine, 2 decode threads"
    bare_name, old_name = f"(b) bare batched loop, batch {batch}", "(c) old one-clip-at-a-time"
    for kind, figures in (("medians", medians), ("minimums", minimums)):
        a, a2 = figures[engine], figures[threads]
        b, c = figures[bare_name], figures[old_name]
        print(
            f"{kind + ':':<10}a/b (target >= 0.9x) {b / a:.2f}x, a/c (target >= 1x) {c / a:.2f}x;"
            f" with 2 decode threads a2/b {b / a2:.2f}x, a2/c {c / a2:.2f}x"
        )
    a, b, c = medians[engine], medians[bare_name], medians[old_name]
    return {"a/b": b / a, "a/c": c / a}


def make_long_recording(path: Path, seconds: int) -> None:
    mix = "[0:a][1:a]amix=inputs=2,aformat=channel_layouts=stereo"
    subprocess.run(
        [ffmpeg_exe(), "-nostdin", "-v", "error", "-y",
         "-f", "lavfi", "-i", "sine=frequency=220:sample_rate=44100",
         "-f", "lavfi", "-i", "anoisesrc=r=44100:a=0.02:c=pink",
         "-filter_complex", mix, "-t", str(seconds), str(path)],
        check=True,
    )  # fmt: skip


def _vm_kb(pid: int | str, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _watch_children_peak(peak_kb: list[int], stop: threading.Event) -> None:
    """Poll the high-water RSS of our child processes (ffmpeg): ru_maxrss of a child is
    useless here, Linux carries the parent's figure across fork and exec."""
    me = os.getpid()
    while not stop.wait(0.05):
        for children in Path(f"/proc/{me}/task").glob("*/children"):
            for pid in children.read_text().split():
                peak_kb[0] = max(peak_kb[0], _vm_kb(pid, "VmHWM"))


def stream_child(path: Path) -> None:
    """Runs in a fresh process (imports = what a worker imports): stream, print JSON figures."""
    baseline_kb = _vm_kb("self", "VmHWM")
    ffmpeg_peak_kb = [0]
    stop = threading.Event()
    watcher = threading.Thread(target=_watch_children_peak, args=(ffmpeg_peak_kb, stop))
    watcher.start()
    tracemalloc.start()
    before_self = resource.getrusage(resource.RUSAGE_SELF)
    wall = time.perf_counter()
    count, samples = 0, 0
    job = ReadJob(RecordingAudio("long", path), path.with_suffix(".none"), SegmentPolicy(), {})
    for _segment, wave in _windows(job):
        count += 1
        samples += len(wave)
    wall = time.perf_counter() - wall
    _, traced_peak = tracemalloc.get_traced_memory()
    stop.set()
    watcher.join()
    me = resource.getrusage(resource.RUSAGE_SELF)
    ffmpeg = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_self = (me.ru_utime + me.ru_stime) - (before_self.ru_utime + before_self.ru_stime)
    print(
        json.dumps(
            {
                "segments": count,
                "audio_s": samples / 24_000,
                "wall_s": wall,
                "cpu_self_s": cpu_self,  # the watcher thread's polling included
                "cpu_ffmpeg_s": ffmpeg.ru_utime + ffmpeg.ru_stime,
                "rss_baseline_mb": baseline_kb / 1024,
                "rss_self_mb": _vm_kb("self", "VmHWM") / 1024,
                "rss_ffmpeg_mb": ffmpeg_peak_kb[0] / 1024,
                "traced_peak_mb": traced_peak / 1e6,
            }
        )
    )


def measure_long(tmp: Path, seconds: int) -> None:
    long = tmp / "long.flac"
    start = time.perf_counter()
    make_long_recording(long, seconds)
    print(
        f"\nlong recording: {seconds / 3600:g} h, 44.1 kHz stereo FLAC "
        f"({long.stat().st_size / 1e6:.0f} MB, made in {time.perf_counter() - start:.0f} s)"
    )
    result = subprocess.run(
        [sys.executable, __file__, "--stream-child", str(long)],
        check=True,
        capture_output=True,
        text=True,
    )
    r = json.loads(result.stdout.strip().splitlines()[-1])
    cpu = r["cpu_self_s"] + r["cpu_ffmpeg_s"]
    print(
        f"decode+resample+segment: {r['segments']} segments, {r['audio_s']:.0f} s of audio in "
        f"{r['wall_s']:.1f} s wall = {r['audio_s'] / r['wall_s']:.0f}x real time (wall)"
    )
    print(
        f"CPU: python {r['cpu_self_s']:.1f} s + ffmpeg {r['cpu_ffmpeg_s']:.1f} s = "
        f"{r['audio_s'] / cpu:.0f}x real time per core (target >= 300x)"
    )
    peak = r["rss_self_mb"] + r["rss_ffmpeg_mb"]
    print(
        f"peak RSS: streaming process {r['rss_self_mb']:.0f} MB (of which "
        f"{r['rss_baseline_mb']:.0f} MB after imports, before streaming; tracemalloc peak "
        f"{r['traced_peak_mb']:.1f} MB) + ffmpeg {r['rss_ffmpeg_mb']:.0f} MB = {peak:.0f} MB: "
        f"{'under' if peak < RSS_TARGET_MB else 'OVER'} {RSS_TARGET_MB} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["tiny", "full"], default="tiny")
    parser.add_argument("--clips", type=int, default=8)
    parser.add_argument("--inputs", default="44k,24k")
    parser.add_argument("--seconds-long", type=int, default=3 * 3600)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", default="auto")
    parser.add_argument("--stream-child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stream_child:
        stream_child(args.stream_child)
        return
    config = EmbedderConfig(mode="random", random_size=args.model, batch_size=args.batch_size)
    embedder = build_embedder(config)
    print(
        f"model: {embedder.label}; device {embedder.device}; torch threads "
        f"{torch.get_num_threads()}; cpus {os.cpu_count()}; batch {embedder.batch_size}; "
        f"load average {os.getloadavg()[0]:.1f} (a shared machine: medians are compared)"
    )
    formats = {"44k": (44_100, 2, "44.1 kHz stereo WAV"), "24k": (24_000, 1, "24 kHz mono WAV")}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for kind in args.inputs.split(","):
            rate, channels, label = formats[kind]
            clips = [
                write_piano_wav(tmp / f"{kind}-c{i}.wav", 30.0, rate, seed=i, channels=channels)
                for i in range(args.clips)
            ]
            measure_paths(embedder, clips, tmp, args.repeats, label)
        if args.seconds_long > 0:
            measure_long(tmp, args.seconds_long)


if __name__ == "__main__":
    main()
