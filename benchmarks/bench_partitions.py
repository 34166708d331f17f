"""50,000 recording partitions: registering them, and the UI's queries, on SQLite and PostgreSQL.

Questions:
1. How long does registering 50,000 dynamic partitions take (`add_new_partitions`, chunks of
   10,000), SQLite against PostgreSQL?
2. With 50,000 registered and 5,000 of them materialized, how long do the GraphQL queries take
   that the UI sends for a partitioned asset: the partition status counts (`partitionStats`,
   shown in the asset list and the asset page) and the partitions list with each key's status
   (`partitionKeysByDimension` + `assetPartitionStatuses`, the PartitionHealthQuery of the
   asset's Partitions tab)? Target: under 2 s each on PostgreSQL.

Method, in one invocation: a real PostgreSQL server (started like the tests', in a temporary
folder on a loopback port) and a SQLite instance in a temporary DAGSTER_HOME, both configured by
the `dagster.yaml` that `piano_assets.deploy.instance` renders. This file is also the code
location: one asset over the dynamic partitions `bench_recordings`. `--materialized` of them are
materialized by in-process runs over partition ranges (one event per partition, as a backfill
writes them; ~40-60 ms per event here, so not all 50,000). Then a webserver serves each
instance and each query is sent through `/graphql` as the UI sends it: once cold (the first
query after the runs, when Dagster refreshes its partition status cache) and then `--repeats`
times warm; the median warm time is reported.

    .venv/bin/python benchmarks/bench_partitions.py [--partitions 50000] [--materialized 5000]
"""

import argparse
import os
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from piano_assets.deploy.instance import render_instance_yaml
from piano_assets.lib.partitions import add_new_partitions
from piano_assets.settings import PianoAssetsSettings
from piano_assets_tests.dagster_server import CodeLocationTarget, DagsterServer, dagster_server
from piano_assets_tests.services import postgres_server

warnings.filterwarnings("ignore", message=".*is currently in (beta|preview).*")

BENCH_RECORDINGS = dg.DynamicPartitionsDefinition(name="bench_recordings")
ASSET = "bench_recording_audio"


@dg.asset(name=ASSET, partitions_def=BENCH_RECORDINGS, group_name="bench")
def bench_recording_audio(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"recordings": len(context.partition_keys)})


defs = dg.Definitions(assets=[bench_recording_audio])

COUNTS_QUERY = """
query ($key: AssetKeyInput!) { assetNodes(assetKeys: [$key]) {
  partitionStats { numMaterialized numMaterializing numFailed numPartitions }
} }
"""
PARTITIONS_QUERY = """
query ($key: AssetKeyInput!) { assetNodeOrError(assetKey: $key) { ... on AssetNode {
  partitionKeysByDimension { name partitionKeys }
  assetPartitionStatuses { ... on DefaultPartitionStatuses {
    materializedPartitions materializingPartitions failedPartitions
  } }
} } }
"""


@dataclass
class QueryTiming:
    cold_s: float
    warm_s: list[float]
    answer: str

    @property
    def warm_median_s(self) -> float:
        return statistics.median(self.warm_s)


@dataclass
class StorageResult:
    storage: str
    register_s: float
    materialize_s: float
    counts: QueryTiming
    partitions: QueryTiming


def _time(fn: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    value = fn()
    return time.perf_counter() - started, value


def _materialize(instance: dg.DagsterInstance, keys: list[str], run_size: int) -> None:
    job = defs.resolve_implicit_global_asset_job_def()
    for start in range(0, len(keys), run_size):
        chunk = keys[start : start + run_size]
        result = job.execute_in_process(
            instance=instance,
            run_config={"loggers": {"console": {"config": {"log_level": "ERROR"}}}},
            tags={
                "dagster/asset_partition_range_start": chunk[0],
                "dagster/asset_partition_range_end": chunk[-1],
            },
        )
        if not result.success:
            raise RuntimeError("materializing the benchmark partitions failed")


def _query(
    server: DagsterServer, query: str, repeats: int, describe: Callable[[dict], str]
) -> QueryTiming:
    variables = {"key": {"path": [ASSET]}}
    cold, data = _time(lambda: server.graphql(query, variables))
    warm = [_time(lambda: server.graphql(query, variables))[0] for _ in range(repeats)]
    return QueryTiming(cold_s=cold, warm_s=warm, answer=describe(data))  # type: ignore[arg-type]


def _describe_counts(data: dict) -> str:
    stats = data["assetNodes"][0]["partitionStats"]
    return f"{stats['numMaterialized']}/{stats['numPartitions']} materialized"


def _describe_partitions(data: dict) -> str:
    node = data["assetNodeOrError"]
    keys = node["partitionKeysByDimension"][0]["partitionKeys"]
    done = node["assetPartitionStatuses"]["materializedPartitions"]
    return f"{len(keys)} keys, {len(done)} materialized"


def bench_storage(
    storage: str,
    settings: PianoAssetsSettings,
    env: dict[str, str],
    keys: list[str],
    args: argparse.Namespace,
) -> StorageResult:
    with tempfile.TemporaryDirectory(prefix=f"bench_{storage}_") as home:
        (Path(home) / "dagster.yaml").write_text(render_instance_yaml(settings))
        with dg.DagsterInstance.from_config(home) as instance:
            register_s, _ = _time(lambda: add_new_partitions(instance, BENCH_RECORDINGS.name, keys))
            print(f"[{storage}] registered {len(keys)} partitions in {register_s:.2f} s")
            done = keys[: args.materialized]
            materialize_s, _ = _time(lambda: _materialize(instance, done, args.run_size))
            print(f"[{storage}] materialized {len(done)} partitions in {materialize_s:.1f} s")
        target = CodeLocationTarget(
            python_file=Path(__file__).resolve(),
            working_directory=Path(__file__).resolve().parents[1],
        )
        with dagster_server(
            target,
            env=env,
            dagster_home=Path(home),
            instance_yaml=render_instance_yaml(settings),
            startup_timeout=300,
        ) as server:
            counts = _query(server, COUNTS_QUERY, args.repeats, _describe_counts)
            partitions = _query(server, PARTITIONS_QUERY, args.repeats, _describe_partitions)
        return StorageResult(storage, register_s, materialize_s, counts, partitions)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--partitions", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--materialized", type=int, default=5_000, help="partitions materialized before querying"
    )
    parser.add_argument("--run-size", type=int, default=2_500, help="partitions per run")
    args = parser.parse_args(argv)
    keys = [f"recording-{index:06d}" for index in range(args.partitions)]
    print(f"bench_partitions: {args.partitions} partitions, {os.cpu_count()} CPUs")
    results = []
    results.append(bench_storage("sqlite", PianoAssetsSettings(), {}, keys, args))
    with postgres_server() as postgres:
        database = postgres.create_database("bench_partitions")
        env = postgres.settings_env(database)
        os.environ.update(env)  # this process opens the instance too (the password variable)
        results.append(bench_storage("postgres", PianoAssetsSettings(), env, keys, args))

    print()
    print(f"{'storage':<10}{'register s':>11}{'query':>12}{'cold s':>9}{'warm s':>9}  answer")
    for result in results:
        for name, timing in (("counts", result.counts), ("partitions", result.partitions)):
            print(
                f"{result.storage:<10}{result.register_s:>11.2f}{name:>12}"
                f"{timing.cold_s:>9.2f}{timing.warm_median_s:>9.2f}  {timing.answer}"
            )
    sqlite, postgres_result = results
    print()
    print(
        f"registering {args.partitions}: SQLite {sqlite.register_s:.2f} s, PostgreSQL "
        f"{postgres_result.register_s:.2f} s (PostgreSQL/SQLite = "
        f"{postgres_result.register_s / sqlite.register_s:.2f}x)"
    )
    for name in ("counts", "partitions"):
        pg_timing: QueryTiming = getattr(postgres_result, name)
        sq_timing: QueryTiming = getattr(sqlite, name)
        verdict = "meets" if max(pg_timing.cold_s, pg_timing.warm_median_s) < 2 else "MISSES"
        print(
            f"{name} query on PostgreSQL: cold {pg_timing.cold_s:.2f} s, warm "
            f"{pg_timing.warm_median_s:.2f} s ({verdict} the 2 s target); PostgreSQL/SQLite warm "
            f"{pg_timing.warm_median_s / sq_timing.warm_median_s:.2f}x"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
