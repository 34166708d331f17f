"""Does the T4 augmentation chain run at 50x real time or faster per core? Measured in one run.

    .venv/bin/python benchmarks/bench_augment.py [--segments 40] [--seconds 30] [--repeats 3]

On synthesized 24 kHz mono piano-like segments of `--seconds`: each kind alone (fixed,
representative parameters; rooms cycle through the bank) and the default seeded chain (one
drawn chain per segment id, the issue's probabilities). The ratio is audio seconds per CPU
second of this process *and* its children (ffmpeg for the phone kind): real time per core.
Wall-clock ratios are printed beside it. The room bank's first use (impulse responses computed
once per process and cached) is timed on its own. Thread pools are pinned to one thread so the
CPU figure is per core.
"""

from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import argparse  # noqa: E402 - the thread settings above must come first
import json  # noqa: E402
import resource  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402

import numpy as np  # noqa: E402

from piano_assets.sample.synth import piano_notes  # noqa: E402
from piano_assets.youtube_piano.augment import (  # noqa: E402
    AugmentationConfig,
    AugmentationRecord,
    apply_record,
    augmentation_record,
    library_versions,
    room_bank,
    segment_seed,
)

SR = 24_000


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _measure(run: Callable[[], None], audio_s: float, repeats: int) -> dict[str, float]:
    best_cpu = best_wall = float("inf")
    for _ in range(repeats):
        cpu0, wall0 = _cpu(), time.perf_counter()
        run()
        best_cpu = min(best_cpu, _cpu() - cpu0)
        best_wall = min(best_wall, time.perf_counter() - wall0)
    return {
        "audio_s": audio_s,
        "cpu_s": round(best_cpu, 3),
        "wall_s": round(best_wall, 3),
        "x_realtime_per_core": round(audio_s / best_cpu, 1),
        "x_realtime_wall": round(audio_s / best_wall, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    waves = [piano_notes(args.seconds, SR, seed=n) for n in range(min(args.segments, 8))]
    config = AugmentationConfig()
    bank = room_bank(config.room_bank_seed, config.room_bank_size, config.ranges)

    def record(steps: list[dict]) -> AugmentationRecord:
        return AugmentationRecord(
            segment_id="bench_seg000", version=1, seed=segment_seed("bench_seg000", 1), steps=steps
        )

    cpu0, wall0 = _cpu(), time.perf_counter()
    for room in bank:  # the bank's impulse responses, computed once per process
        apply_record(waves[0][:SR], record([room.model_dump()]))
    bank_first_use = {
        "rooms": len(bank),
        "cpu_s": round(_cpu() - cpu0, 3),
        "wall_s": round(time.perf_counter() - wall0, 3),
    }

    single_kinds: dict[str, list[AugmentationRecord]] = {
        "room": [record([room.model_dump()]) for room in bank[:8]],
        "noise": [
            record(
                [{"kind": "noise", "snr_db": 18.0, "decay_db_per_octave": -3.01, "noise_seed": 7}]
            )
        ],
        "phone (AMR-NB 12.2k)": [
            record([{"kind": "phone", "codec": "amr_nb", "bitrate": "12.2k"}])
        ],
        "phone (G.711 mu-law)": [record([{"kind": "phone", "codec": "g711_mulaw"}])],
        "pitch (-35 cents)": [record([{"kind": "pitch", "cents": -35.0}])],
        "eq (3 bands)": [
            record(
                [
                    {
                        "kind": "eq",
                        "bands": [
                            {"center_hz": 150.0, "gain_db": 4.0, "q": 1.0},
                            {"center_hz": 1200.0, "gain_db": -5.0, "q": 2.0},
                            {"center_hz": 5000.0, "gain_db": 3.0, "q": 0.8},
                        ],
                    }
                ]
            )
        ],
    }
    results: dict[str, dict[str, float]] = {}
    n = args.segments
    for name, records in single_kinds.items():

        def run(records: list[AugmentationRecord] = records) -> None:
            for i in range(n):
                apply_record(waves[i % len(waves)], records[i % len(records)])

        results[name] = _measure(run, n * args.seconds, args.repeats)

    chains = [augmentation_record(f"bench-rec_seg{i:03d}", 1, config) for i in range(n)]

    def run_chain() -> None:
        for i, chain in enumerate(chains):
            apply_record(waves[i % len(waves)], chain)

    results["default chain"] = _measure(run_chain, n * args.seconds, args.repeats)
    kinds_per_chain = float(np.mean([len(chain.steps) for chain in chains]))
    report = {
        "segments": n,
        "segment_seconds": args.seconds,
        "repeats_best_of": args.repeats,
        "cpu_count": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "room_bank_first_use": bank_first_use,
        "kinds_per_default_chain": round(kinds_per_chain, 2),
        "results": results,
        "libraries": library_versions(),
    }
    print(json.dumps(report, indent=2))
    print()
    print("| kind | x real time per core (CPU) | x real time (wall) |")
    print("|---|---|---|")
    for name, figures in results.items():
        print(f"| {name} | {figures['x_realtime_per_core']} | {figures['x_realtime_wall']} |")
    slowest = min(results.values(), key=lambda f: f["x_realtime_per_core"])
    verdict = "MET" if slowest["x_realtime_per_core"] >= 50 else "MISSED"
    print(
        f"\ntarget >= 50x real time per core: {verdict} (slowest {slowest['x_realtime_per_core']}x)"
    )


if __name__ == "__main__":
    main()
