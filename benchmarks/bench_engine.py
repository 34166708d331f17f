"""Engine vs a bare batched torch loop vs the old one-clip-at-a-time script, measured in one run.

    .venv/bin/python benchmarks/bench_engine.py [--model tiny|full] [--clips 8]
        [--seconds-long 10800] [--repeats 2]

On the same synthesized 44.1 kHz stereo 30 s clips and the same model instance:
(a) engine: `embed_recordings` from the WAV files (decode, segment, batch across recordings, store);
(b) bare loop: pre-decoded 24 kHz 30 s arrays stacked into batches, model forward only;
(c) old script: per clip, soundfile at 44.1 kHz, torchaudio resample to 24 kHz, batch of one.
Each path runs `--repeats` times after one warm-up forward; the best time counts.
Then a synthetic long recording (sine + pink noise, 44.1 kHz stereo FLAC) is streamed through
`_segments_of` (decode + resample + segment) in a fresh child process, which reports its CPU
time (its own and ffmpeg's), wall time and peak memory: the figures a worker would see.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from pathlib import Path

import numpy as np
import torch

from piano_assets.engine import (
    Embedder,
    EmbedderConfig,
    RecordingAudio,
    SegmentPolicy,
    build_embedder,
    decode_audio,
    embed_recordings,
)
from piano_assets.engine.ffmpeg import ffmpeg_exe
from piano_assets.engine.pipeline import _segments_of
from piano_assets.sample.synth import write_piano_wav

RSS_TARGET_MB = 1500


def _best_of(repeats: int, run) -> float:
    times = []
    for attempt in range(repeats):
        start = time.perf_counter()
        run(attempt)
        times.append(time.perf_counter() - start)
    return min(times)


def measure_paths(embedder: Embedder, clips: list[Path], tmp: Path, repeats: int) -> None:
    policy = SegmentPolicy()
    recordings = [RecordingAudio(p.stem, p) for p in clips]
    waves = [decode_audio(p) for p in clips]  # for (b): decoding is not part of the bare loop
    waves = [w[: 30 * 24_000] for w in waves]
    n = len(waves)
    with torch.inference_mode():  # warm-up: first-call allocations count against no path
        embedder.model(torch.from_numpy(waves[0][None, :]), output_hidden_states=False)

    def engine(attempt: int) -> None:
        outcomes = embed_recordings(recordings, embedder, tmp / f"emb{attempt}", policy)
        assert all(o.ok and not o.skipped_existing for o in outcomes)

    def bare(_attempt: int) -> None:
        with torch.inference_mode():
            for i in range(0, n, embedder.batch_size):
                batch = torch.from_numpy(np.stack(waves[i : i + embedder.batch_size]))
                batch = batch.to(embedder.device, embedder.dtype)
                embedder.model(batch, output_hidden_states=False)

    import soundfile  # imported here so the streaming child process does not pay for them
    import torchaudio

    def old(_attempt: int) -> None:
        with torch.inference_mode():
            for path in clips:
                audio, rate = soundfile.read(path, dtype="float32", always_2d=True)
                mono = torch.from_numpy(audio.mean(axis=1))
                wav = torchaudio.functional.resample(mono, rate, 24_000)
                hidden = embedder.model(
                    wav[None, :].to(embedder.device, embedder.dtype), output_hidden_states=False
                ).last_hidden_state
                hidden.float().cpu()

    engine_s = _best_of(repeats, engine)
    bare_s = _best_of(repeats, bare)
    old_s = _best_of(repeats, old)
    print(f"\n{'path':<36}{'segments':>9}{'best s':>9}{'segments/s':>12}")
    for name, seconds in (
        ("(a) engine (decode+batch+store)", engine_s),
        ("(b) bare batched torch loop", bare_s),
        ("(c) old one-clip-at-a-time", old_s),
    ):
        print(f"{name:<36}{n:>9}{seconds:>9.2f}{n / seconds:>12.2f}")
    print(f"a/b (engine vs bare loop, target >= 0.9x): {bare_s / engine_s:.2f}x")
    print(f"a/c (engine vs old script, target >= 2x):  {old_s / engine_s:.2f}x")


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
    for _segment, wave in _segments_of(RecordingAudio("long", path), SegmentPolicy()):
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
    parser.add_argument("--seconds-long", type=int, default=3 * 3600)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--stream-child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stream_child:
        stream_child(args.stream_child)
        return
    config = EmbedderConfig(mode="random", random_size=args.model, batch_size=args.batch_size)
    embedder = build_embedder(config)
    print(
        f"model: {embedder.label}; device {embedder.device}; torch threads "
        f"{torch.get_num_threads()}; cpus {os.cpu_count()}; batch {embedder.batch_size}"
    )
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        clips = [
            write_piano_wav(tmp / f"c{i}.wav", 30.0, sample_rate=44_100, seed=i, channels=2)
            for i in range(args.clips)
        ]
        measure_paths(embedder, clips, tmp, args.repeats)
        if args.seconds_long > 0:
            measure_long(tmp, args.seconds_long)


if __name__ == "__main__":
    main()
