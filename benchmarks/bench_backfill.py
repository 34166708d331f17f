"""How many runs, and how long, does a backfill of 1,000 recording partitions take?

Question: the per-recording assets carry `BackfillPolicy.multi_run(N)` so that a backfill of
thousands of recordings launches few runs. What does that buy over one run per partition?

Method, all in one invocation on a throwaway instance: a webserver and the real daemon
(QueuedRunCoordinator, `--max-concurrent-runs` at a time) serve this very file as a code
location. It holds three copies of a trivial per-partition asset over one dynamic partitions
definition, differing only in their backfill policy:

* `bench_multi_run`        `BackfillPolicy.multi_run(N)`   backfill of all `--partitions` keys
* `bench_one_per_partition` `BackfillPolicy.multi_run(1)`  backfill of `--baseline-partitions`
                            keys (one run each), extrapolated per partition to `--partitions`
* `bench_single_run`       `BackfillPolicy.single_run()`   backfill of all keys, for reference

Each backfill is launched through GraphQL `launchPartitionBackfill`, as the UI does, and timed
from launch until the daemon marks it complete. The workload hashes the key (microseconds), so
the figures measure orchestration cost: process start, code loading, event writes. Runs use the
in-process executor (the multiprocess one adds a process per step, which only widens the gap).

    .venv/bin/python benchmarks/bench_backfill.py [--partitions 1000] [--run-size 100]
"""

import argparse
import hashlib
import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from piano_assets_tests.dagster_server import CodeLocationTarget, DagsterServer, dagster_server

# backfill_policy is marked beta in Dagster 1.13; the warning would repeat in every process.
warnings.filterwarnings("ignore", message=".*is currently in beta.*")

BENCH_RECORDINGS = dg.DynamicPartitionsDefinition(name="bench_recordings")
RUN_SIZE = int(os.environ.get("PIANO_BENCH_RUN_SIZE", "100"))
MULTI_RUN, ONE_PER_PARTITION, SINGLE_RUN = (
    "bench_multi_run",
    "bench_one_per_partition",
    "bench_single_run",
)


def trivial_workload(partition_key: str) -> str:
    """Stand-in for per-recording work: a few hashes of the key."""
    digest = partition_key.encode()
    for _ in range(100):
        digest = hashlib.sha256(digest).digest()
    return digest.hex()[:12]


def _bench_asset(name: str, policy: dg.BackfillPolicy) -> dg.AssetsDefinition:
    @dg.asset(
        name=name,
        group_name="bench",
        partitions_def=BENCH_RECORDINGS,
        backfill_policy=policy,
    )
    def _asset(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        keys = list(context.partition_keys)
        digests = [trivial_workload(key) for key in keys]
        return dg.MaterializeResult(metadata={"recordings_in_run": len(digests)})

    return _asset


defs = dg.Definitions(
    assets=[
        _bench_asset(MULTI_RUN, dg.BackfillPolicy.multi_run(RUN_SIZE)),
        _bench_asset(ONE_PER_PARTITION, dg.BackfillPolicy.multi_run(1)),
        _bench_asset(SINGLE_RUN, dg.BackfillPolicy.single_run()),
    ],
    executor=dg.in_process_executor,
)


@dataclass(frozen=True)
class ArmResult:
    asset: str
    policy: str
    partitions: int
    runs: int
    wall_seconds: float  # launch → backfill marked complete by the daemon
    runs_done_seconds: float  # launch → last run finished
    materialized: int

    @property
    def seconds_per_partition(self) -> float:
        return self.wall_seconds / self.partitions


def run_arm(server: DagsterServer, asset: str, policy: str, keys: list[str]) -> ArmResult:
    """Backfill `keys` of `asset` through GraphQL and time it until the daemon marks it done."""
    client = server.client
    started = time.time()
    backfill_id = client.launch_backfill([asset], keys, title=f"bench {asset}")
    backfill = client.wait_for_backfill(backfill_id, timeout=900)
    wall = time.time() - started
    if backfill.status != "COMPLETED_SUCCESS":
        raise RuntimeError(
            f"{asset}: backfill {backfill.status}: {backfill.error}\n{server.logs()}"
        )
    last_end = max(run.end_time or started for run in backfill.runs)
    materialized = server.instance().get_materialized_partitions(dg.AssetKey(asset))
    return ArmResult(
        asset=asset,
        policy=policy,
        partitions=len(keys),
        runs=len(backfill.runs),
        wall_seconds=wall,
        runs_done_seconds=last_end - started,
        materialized=len(materialized & set(keys)),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--partitions", type=int, default=1000)
    parser.add_argument("--run-size", type=int, default=100, help="N of multi_run(N)")
    parser.add_argument("--baseline-partitions", type=int, default=40)
    parser.add_argument("--max-concurrent-runs", type=int, default=2)
    parser.add_argument(
        "--loop-seconds",
        type=float,
        default=2.0,
        help="pause of the backfill daemon between passes (Dagster's default is 30)",
    )
    args = parser.parse_args(argv)

    repo_root = Path(__file__).resolve().parents[1]
    target = CodeLocationTarget(python_file=Path(__file__).resolve(), working_directory=repo_root)
    keys = [f"rec-{index:05d}" for index in range(args.partitions)]
    print(
        f"bench_backfill: {args.partitions} partitions, multi_run({args.run_size}), baseline "
        f"{args.baseline_partitions} partitions one run each; {args.max_concurrent_runs} "
        f"concurrent runs, backfill daemon pass every {args.loop_seconds:g} s, "
        f"{os.cpu_count()} CPUs"
    )
    total_started = time.monotonic()
    with dagster_server(
        target,
        with_daemon=True,
        max_concurrent_runs=args.max_concurrent_runs,
        env={"PIANO_BENCH_RUN_SIZE": str(args.run_size)},
        backfill_loop_seconds=args.loop_seconds,
    ) as server:
        started = time.monotonic()
        server.instance().add_dynamic_partitions(BENCH_RECORDINGS.name, keys)
        print(f"registered {len(keys)} partitions in {time.monotonic() - started:.2f} s")
        arms = [
            run_arm(server, MULTI_RUN, f"multi_run({args.run_size})", keys),
            run_arm(
                server,
                ONE_PER_PARTITION,
                "one run per partition",
                keys[: args.baseline_partitions],
            ),
            run_arm(server, SINGLE_RUN, "single_run()", keys),
        ]

    print()
    print(
        f"{'policy':<24}{'partitions':>11}{'runs':>7}{'wall s':>9}"
        f"{'runs done s':>13}{'s/partition':>13}"
    )
    for arm in arms:
        if arm.materialized != arm.partitions:  # the timing counts only if the work was done
            raise RuntimeError(f"{arm.asset}: {arm.materialized}/{arm.partitions} materialized")
        print(
            f"{arm.policy:<24}{arm.partitions:>11}{arm.runs:>7}{arm.wall_seconds:>9.1f}"
            f"{arm.runs_done_seconds:>13.1f}{arm.seconds_per_partition:>13.4f}"
        )
    multi, baseline, _single = arms
    projected = baseline.seconds_per_partition * multi.partitions
    print()
    print(
        f"one run per partition, extrapolated to {multi.partitions} partitions: "
        f"{multi.partitions} runs, ~{projected:.0f} s"
    )
    print(
        f"multi_run({args.run_size}) vs one run per partition: "
        f"{multi.partitions / multi.runs:.0f}x fewer runs, "
        f"{projected / multi.wall_seconds:.1f}x less wall time"
    )
    print(f"total benchmark time {time.monotonic() - total_started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
