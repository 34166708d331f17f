"""A 10,000-partition backfill through Celery workers against the multiprocess executor.

Question: what does distributing steps over Celery workers (Redis broker) cost per partition in
orchestration, compared with the embedded default (the multiprocess executor), when the work
itself is trivial?

Method, in one invocation, each arm on a fresh database of one real PostgreSQL server and with
the `dagster.yaml` that `piano_assets.deploy.instance` renders: a webserver and the daemon serve
this very file as the code location, whose executor comes from the settings
(`executor_from_settings`). It holds the routed pair of per-recording assets (audio step on the
`audio` queue, MuQ step on the `gpu` queue, `step_tags`/`step_pool`), with
`BackfillPolicy.multi_run(--run-size)`. The workload hashes each key (microseconds).

* celery: PIANO_ASSETS_EXECUTOR=celery, a real Redis server, three worker processes
  (two on `audio`, one on `gpu`, concurrency 1 each), as started by the tests;
* multiprocess: PIANO_ASSETS_EXECUTOR=multiprocess (one process per step).

The backfill of both assets over all partitions is launched through GraphQL, as the UI does,
and timed until the daemon marks it complete; every partition must be materialized.

    .venv/bin/python benchmarks/bench_celery_backfill.py [--partitions 10000] [--run-size 500]
"""

import argparse
import hashlib
import os
import tempfile
import time
import warnings
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from piano_assets.deploy.executor import executor_from_settings
from piano_assets.deploy.instance import apply_pool_limits, render_instance_yaml
from piano_assets.deploy.routing import step_pool, step_tags
from piano_assets.lib.partitions import add_new_partitions
from piano_assets.settings import PianoAssetsSettings
from piano_assets_tests.dagster_server import (
    REPO_ROOT,
    CodeLocationTarget,
    ManagedProcess,
    dagster_server,
    start_console_script,
)
from piano_assets_tests.services import postgres_server, redis_server

warnings.filterwarnings("ignore", message=".*is currently in (beta|preview).*")

RECORDINGS = dg.DynamicPartitionsDefinition(name="bench_celery_recordings")
RUN_SIZE = int(os.environ.get("PIANO_BENCH_RUN_SIZE", "500"))
AUDIO, EMBEDDINGS = "bench_audio", "bench_embeddings"


def trivial_workload(key: str) -> str:
    digest = key.encode()
    for _ in range(100):
        digest = hashlib.sha256(digest).digest()
    return digest.hex()[:12]


@dg.asset(
    name=AUDIO,
    partitions_def=RECORDINGS,
    backfill_policy=dg.BackfillPolicy.multi_run(RUN_SIZE),
    op_tags=step_tags("audio"),
    pool=step_pool("audio", source="local"),
)
def bench_audio(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    digests = [trivial_workload(key) for key in context.partition_keys]
    return dg.MaterializeResult(metadata={"recordings": len(digests)})


@dg.asset(
    name=EMBEDDINGS,
    partitions_def=RECORDINGS,
    backfill_policy=dg.BackfillPolicy.multi_run(RUN_SIZE),
    deps=[bench_audio],
    op_tags=step_tags("muq"),
    pool=step_pool("muq"),
)
def bench_embeddings(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    digests = [trivial_workload(key + "/muq") for key in context.partition_keys]
    return dg.MaterializeResult(metadata={"recordings": len(digests)})


defs = dg.Definitions(assets=[bench_audio, bench_embeddings], executor=executor_from_settings())


@dataclass(frozen=True)
class ArmResult:
    executor: str
    partitions: int
    runs: int
    wall_s: float
    materialized: int

    @property
    def s_per_partition(self) -> float:
        return self.wall_s / self.partitions


def _settings(env: dict[str, str]) -> PianoAssetsSettings:
    return PianoAssetsSettings(
        **{
            name.removeprefix("PIANO_ASSETS_").lower(): value
            for name, value in env.items()
            if name.startswith("PIANO_ASSETS_")
        }
    )


def _wait_ready(worker: ManagedProcess, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker.popen.poll() is not None:
            raise RuntimeError(f"celery worker exited:\n{worker.log_tail()}")
        if " ready." in worker.log_tail(20000):
            return
        time.sleep(0.5)
    raise RuntimeError(f"celery worker not ready in {timeout} s:\n{worker.log_tail()}")


def run_arm(
    executor: str, env: dict[str, str], keys: list[str], args: argparse.Namespace
) -> ArmResult:
    settings = _settings(env)
    target = CodeLocationTarget(python_file=Path(__file__).resolve(), working_directory=REPO_ROOT)
    with ExitStack() as stack:
        home = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=f"bench_{executor}_")))
        process_env = {
            **os.environ,
            **env,
            "DAGSTER_HOME": str(home),
            "PYTHONPATH": str(REPO_ROOT),
            "PYTHONUNBUFFERED": "1",
            "PIANO_BENCH_RUN_SIZE": str(args.run_size),
        }
        workers: list[ManagedProcess] = []
        if executor == "celery":
            for name, queue in (("audio1", "audio"), ("audio2", "audio"), ("gpu1", "gpu")):
                worker = start_console_script(
                    "celery",
                    [
                        *("-A", "piano_assets.deploy.celery_app", "worker", "-Q", queue),
                        *("-n", f"{name}@%h", "-c", "1", "--without-gossip", "--without-mingle"),
                        *("--loglevel", "INFO"),
                    ],
                    env=process_env,
                    cwd=REPO_ROOT,
                    log_path=home / "harness_logs" / f"celery-{name}.log",
                )
                stack.callback(worker.stop, 30.0)
                workers.append(worker)
        server = stack.enter_context(
            dagster_server(
                target,
                with_daemon=True,
                env={
                    **env,
                    "PIANO_BENCH_RUN_SIZE": str(args.run_size),
                    "PYTHONPATH": str(REPO_ROOT),
                },
                dagster_home=home,
                instance_yaml=render_instance_yaml(settings),
                backfill_loop_seconds=args.loop_seconds,
                startup_timeout=300,
            )
        )
        for worker in workers:
            _wait_ready(worker)
        with server.instance() as instance:
            apply_pool_limits(instance, settings)
            add_new_partitions(instance, RECORDINGS.name, keys)
        print(f"[{executor}] deployment up; launching the backfill of {len(keys)} partitions")
        started = time.monotonic()
        backfill_id = server.client.launch_backfill([AUDIO, EMBEDDINGS], keys, title=executor)
        backfill = server.client.wait_for_backfill(backfill_id, timeout=args.timeout)
        wall = time.monotonic() - started
        if backfill.status != "COMPLETED_SUCCESS":
            raise RuntimeError(f"{executor}: backfill {backfill.status}\n{server.logs()}")
        with server.instance() as instance:
            done = instance.get_materialized_partitions(dg.AssetKey(EMBEDDINGS))
        result = ArmResult(executor, len(keys), len(backfill.runs), wall, len(done & set(keys)))
        print(
            f"[{executor}] {result.runs} runs, {wall:.1f} s, "
            f"{result.materialized}/{len(keys)} materialized"
        )
        return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--partitions", type=int, default=10_000)
    parser.add_argument("--run-size", type=int, default=500, help="N of multi_run(N)")
    parser.add_argument("--max-concurrent-runs", type=int, default=4)
    parser.add_argument("--loop-seconds", type=float, default=2.0)
    parser.add_argument("--timeout", type=float, default=3000.0)
    args = parser.parse_args(argv)
    keys = [f"rec-{index:06d}" for index in range(args.partitions)]
    print(
        f"bench_celery_backfill: {args.partitions} partitions, multi_run({args.run_size}), "
        f"{args.max_concurrent_runs} concurrent runs, {os.cpu_count()} CPUs"
    )
    results = []
    with postgres_server() as postgres, redis_server() as redis:
        for executor in ("celery", "multiprocess"):
            database = postgres.create_database(f"bench_{executor}")
            env = {
                **postgres.settings_env(database),
                "PIANO_ASSETS_EXECUTOR": executor,
                "PIANO_ASSETS_CELERY_BROKER_URL": redis.url(0),
                "PIANO_ASSETS_CELERY_BACKEND_URL": redis.url(1),
                "PIANO_ASSETS_MAX_CONCURRENT_RUNS": str(args.max_concurrent_runs),
                "PIANO_ASSETS_MUQ_POOL_LIMIT": str(args.max_concurrent_runs),
                "PIANO_ASSETS_AUDIO_POOL_LIMIT": str(args.max_concurrent_runs),
            }
            os.environ.update(env)  # this process opens the instance too
            results.append(run_arm(executor, env, keys, args))

    print()
    print(f"{'executor':<14}{'partitions':>11}{'runs':>6}{'wall s':>9}{'s/partition':>13}")
    for result in results:
        if result.materialized != result.partitions:
            raise RuntimeError(f"{result.executor}: {result.materialized} materialized")
        print(
            f"{result.executor:<14}{result.partitions:>11}{result.runs:>6}"
            f"{result.wall_s:>9.1f}{result.s_per_partition:>13.4f}"
        )
    celery, multiprocess = results
    print(
        f"\ncelery vs multiprocess: {celery.s_per_partition * 1000:.1f} vs "
        f"{multiprocess.s_per_partition * 1000:.1f} ms per partition "
        f"(celery/multiprocess = {celery.wall_s / multiprocess.wall_s:.2f}x)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
