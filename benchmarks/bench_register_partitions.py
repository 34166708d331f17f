"""How fast do 10,000 T4 recording keys register as dynamic partitions, in chunks? One run.

    .venv/bin/python benchmarks/bench_register_partitions.py [--keys 10000] [--chunks 1000,5000]

Keys come from `recording_key` (the catalog's own scheme). For each chunk size, a fresh
`DynamicPartitionsDefinition` name on (a) `DagsterInstance.ephemeral()` and (b) a SQLite
instance on disk (`instance_for_test` in a temporary folder, as the embedded default uses):
the time to add every key chunk by chunk, then to add them all again (a catalog re-run: the
instance skips known keys), and to read them back. `--single-call` also tries one call with
every key, which SQLite builds limited to ~32k variables refuse past that many (dagster #16260).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections.abc import Callable

from dagster import DagsterInstance, instance_for_test

from piano_assets.youtube_piano.catalog import chunked, recording_key


def _timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return round(time.perf_counter() - start, 3)


def _register(instance: DagsterInstance, name: str, keys: list[str], chunk: int) -> dict:
    def add_all() -> None:
        for part in chunked(keys, chunk):
            instance.add_dynamic_partitions(name, part)

    first = _timed(add_all)
    again = _timed(add_all)
    read: list[str] = []
    read_s = _timed(lambda: read.extend(instance.get_dynamic_partitions(name)))
    assert sorted(read) == sorted(keys), "the instance lost or invented keys"
    return {
        "chunk": chunk,
        "calls": -(-len(keys) // chunk),
        "add_s": first,
        "keys_per_s": round(len(keys) / first) if first else None,
        "re_add_s": again,
        "read_back_s": read_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=10_000)
    parser.add_argument("--chunks", default="1000,5000,10000")
    parser.add_argument("--single-call", type=int, default=0, help="also try N keys in one call")
    args = parser.parse_args()
    keys = [recording_key(f"bench{n:07d}Ab") for n in range(args.keys)]
    chunks = [int(c) for c in args.chunks.split(",")]
    report: dict = {
        "keys": args.keys,
        "cpu_count": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }

    with DagsterInstance.ephemeral() as instance:
        report["ephemeral"] = [
            _register(instance, f"youtube_piano_recordings_{c}", keys, c) for c in chunks
        ]
    with tempfile.TemporaryDirectory() as home, instance_for_test(temp_dir=home) as instance:
        report["sqlite_storage"] = type(instance.event_log_storage).__name__
        report["sqlite"] = [
            _register(instance, f"youtube_piano_recordings_{c}", keys, c) for c in chunks
        ]
        if args.single_call:
            many = [recording_key(f"single{n:07d}") for n in range(args.single_call)]
            try:
                seconds = _timed(lambda: instance.add_dynamic_partitions("single_call", many))
                report["single_call"] = {"keys": len(many), "add_s": seconds}
            except Exception as err:  # the point is to show the failure
                report["single_call"] = {"keys": len(many), "error": str(err)[:300]}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
