"""Engine vs a bare batched torch loop vs the old one-clip-at-a-time script, measured in one run.

    .venv/bin/python benchmarks/bench_engine.py [--model tiny|full] [--clips 8] [--long-hours 3]

(a) engine: `embed_recordings` from WAV files (decode, segment, batch across recordings, store);
(b) bare loop: pre-decoded 24 kHz arrays stacked into batches, model forward only;
(c) old script: per clip, load 44.1 kHz audio, resample, run the model on a batch of one.
Then decode + resample + segment speed on a synthetic long recording and peak memory.
"""

import argparse
import resource
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile
import torch
import torchaudio

from piano_assets.engine import (
    EmbedderConfig,
    RecordingAudio,
    SegmentPolicy,
    build_embedder,
    embed_recordings,
)
from piano_assets.engine.ffmpeg import ffmpeg_exe
from piano_assets.engine.pipeline import _segments_of
from piano_assets.sample.synth import write_piano_wav


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", choices=["tiny", "full"], default="tiny")
    parser.add_argument("--clips", type=int, default=8)
    parser.add_argument("--long-hours", type=float, default=3.0)
    args = parser.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    embedder = build_embedder(EmbedderConfig(mode="random", random_size=args.model, batch_size=8))
    print(f"model: {embedder.label}, device {embedder.device}, threads {torch.get_num_threads()}")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        clips44 = [
            write_piano_wav(tmp / f"c{i}.wav", 30.0, sample_rate=44_100, seed=i)
            for i in range(args.clips)
        ]
        policy = SegmentPolicy()
        recordings = [RecordingAudio(f"c{i}", p) for i, p in enumerate(clips44)]

        start = time.perf_counter()
        embed_recordings(recordings, embedder, tmp / "emb", policy)
        engine_s = time.perf_counter() - start

        waves = [block for r in recordings for _, block in _segments_of(r, policy)]
        start = time.perf_counter()
        with torch.inference_mode():
            for i in range(0, len(waves), embedder.batch_size):
                batch = torch.from_numpy(np.stack(waves[i : i + embedder.batch_size]))
                embedder.model(batch, output_hidden_states=False)
        bare_s = time.perf_counter() - start

        start = time.perf_counter()
        with torch.inference_mode():
            for path in clips44:
                audio, rate = soundfile.read(path, dtype="float32", always_2d=True)
                mono = torch.from_numpy(audio.mean(axis=1))
                wav = torchaudio.functional.resample(mono, rate, 24_000)
                embedder.model(wav[None, :], output_hidden_states=False)
        old_s = time.perf_counter() - start

        n = len(waves)
        print(f"\n{'path':<34}{'segments':>9}{'seconds':>10}{'segments/s':>12}")
        for name, seconds in (
            ("(a) engine (decode+batch+store)", engine_s),
            ("(b) bare batched torch loop", bare_s),
            ("(c) old one-clip-at-a-time", old_s),
        ):
            print(f"{name:<34}{n:>9}{seconds:>10.2f}{n / seconds:>12.2f}")
        print(f"ratio a/b (engine vs bare loop, target >= 0.9): {bare_s / engine_s:.2f}x")
        print(f"ratio a/c (engine vs old script, target >= 2): {old_s / engine_s:.2f}x")

        long = tmp / "long.flac"
        seconds_long = int(args.long_hours * 3600)
        subprocess.run(
            [ffmpeg_exe(), "-nostdin", "-v", "error", "-f", "lavfi", "-i",
             "sine=frequency=220:sample_rate=44100", "-t", str(seconds_long), "-ac", "2",
             str(long)],
            check=True,
        )  # fmt: skip
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        start = time.perf_counter()
        count = sum(1 for _ in _segments_of(RecordingAudio("long", long), policy))
        decode_s = time.perf_counter() - start
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        cpu = time.process_time()
        print(
            f"\nlong recording: {args.long_hours:g} h, {count} segments, decode+resample+segment "
            f"{seconds_long / decode_s:.0f}x real time (wall; ffmpeg runs in its own process)"
        )
        print(
            f"peak RSS of this process: {peak_mb:.0f} MB (was {before / 1024:.0f} MB before the "
            f"long file; target < 1500 MB), process CPU {cpu:.0f} s"
        )


if __name__ == "__main__":
    main()
