"""A distributed deployment on one machine: PostgreSQL storage, Celery workers over Redis.

One deployment is shared by the tests of this module (startup ~20 s): a real PostgreSQL server
and a real Redis server (conftest.py), the instance's `dagster.yaml` rendered from
`PIANO_ASSETS_*` settings (storage=postgres, run monitoring polling every second), the
webserver and the daemon, and three Celery worker processes started with the workers' own app
(`piano_assets.deploy.celery_app`): two on the `audio` queue, one on the `gpu` queue. The code
location (`fixtures_scale/routed_location.py`) picks the Celery executor from the settings and
routes its two per-recording steps with `step_tags`. Every run is launched through GraphQL, as
the UI does. Each test uses its own partition keys.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.events import DagsterEventType

from piano_assets.deploy.instance import apply_pool_limits, render_instance_yaml
from piano_assets.deploy.launcher import WORKER_HOST_TAG
from piano_assets.lib.partitions import add_new_partitions
from piano_assets.sample.synth import piano_notes, wav_bytes
from piano_assets.settings import PianoAssetsSettings
from piano_assets_tests.dagster_server import (
    REPO_ROOT,
    CodeLocationTarget,
    DagsterServer,
    ManagedProcess,
    dagster_server,
    start_console_script,
)
from piano_assets_tests.services import PostgresServer, RedisServer

pytestmark = pytest.mark.slow

TARGET = CodeLocationTarget(module_name="piano_assets_tests.fixtures_scale.routed_location")
AUDIO, EMBEDDINGS = "scale_audio", "scale_embeddings"
PARTITIONS = "scale_recordings"
WORKERS = {"audio1": "audio", "audio2": "audio", "gpu1": "gpu"}  # worker name -> queue


@dataclass
class Deployment:
    server: DagsterServer
    workers: dict[str, ManagedProcess]
    output: Path
    postgres: PostgresServer
    database: str
    env: dict[str, str]

    def instance(self) -> dg.DagsterInstance:
        return self.server.instance()

    def logs(self) -> str:
        tails = [
            f"--- {name} ---\n{worker.log_tail(3000)}" for name, worker in self.workers.items()
        ]
        return self.server.logs(3000) + "\n" + "\n".join(tails)


def settings_from(env: dict[str, str]) -> PianoAssetsSettings:
    values = {
        name.removeprefix("PIANO_ASSETS_").lower(): value
        for name, value in env.items()
        if name.startswith("PIANO_ASSETS_")
    }
    return PianoAssetsSettings(**values)


def _wait_for_worker(worker: ManagedProcess, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker.popen.poll() is not None:
            raise RuntimeError(f"celery worker exited:\n{worker.log_tail()}")
        if re.search(r"celery@\S+ ready\.|\bready\.", worker.log_tail(20000)):
            return
        time.sleep(0.3)
    raise RuntimeError(f"celery worker not ready in {timeout}s:\n{worker.log_tail()}")


def start_worker(name: str, queue: str, env: dict[str, str], log_dir: Path) -> ManagedProcess:
    return start_console_script(
        "celery",
        [
            "-A",
            "piano_assets.deploy.celery_app",
            "worker",
            "-Q",
            queue,
            "-n",
            f"{name}@%h",
            "--concurrency",
            "1",
            "--pool",
            "prefork",
            "--without-gossip",
            "--without-mingle",
            "--loglevel",
            "INFO",
        ],
        env=env,
        cwd=REPO_ROOT,
        log_path=log_dir / f"celery-{name}.log",
    )


@pytest.fixture(scope="module")
def deployment(
    postgres: PostgresServer, redis: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    base = tmp_path_factory.mktemp("celery_deployment")
    database = postgres.create_database("t_celery_deployment")
    toy_root = _toy_repo(base / "toy_repo")
    env = {
        # The test tier on the real factory: its model repo, a tiny random-weight MuQ.
        "PIANO_ASSETS_ROOT": str(toy_root),
        "PIANO_ASSETS_MUQ_MODE": "random",
        "PIANO_ASSETS_MUQ_RANDOM_SIZE": "tiny",
        "PIANO_ASSETS_MUQ_DEVICE": "cpu",
        **postgres.settings_env(database),
        "PIANO_ASSETS_EXECUTOR": "celery",
        "PIANO_ASSETS_CELERY_BROKER_URL": redis.url(0),
        "PIANO_ASSETS_CELERY_BACKEND_URL": redis.url(1),
        "PIANO_ASSETS_RUN_MONITORING_POLL_S": "1",
        "PIANO_ASSETS_POOL_SLOT_GRACE_S": "2",
        "PIANO_SCALE_OUTPUT_DIR": str(base / "out"),
        "PIANO_SCALE_RUN_SIZE": "4",
        "PYTHONPATH": str(REPO_ROOT),
    }
    settings = settings_from(env)
    home = base / "dagster_home"
    with ExitStack() as stack, pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():  # this process opens the instance too
            patch.setenv(name, value)
        process_env = {**os.environ, "DAGSTER_HOME": str(home), "PYTHONUNBUFFERED": "1"}
        workers: dict[str, ManagedProcess] = {}
        for name, queue in WORKERS.items():
            workers[name] = start_worker(name, queue, process_env, base / "logs")
            stack.callback(workers[name].stop, 30.0)
        server = stack.enter_context(
            dagster_server(
                TARGET,
                with_daemon=True,
                env=env,
                dagster_home=home,
                instance_yaml=render_instance_yaml(settings),
                backfill_loop_seconds=1,
            )
        )
        for worker in workers.values():
            _wait_for_worker(worker)
        server.client.wait_for_daemons(["MONITORING"], timeout=120)
        with server.instance() as instance:
            apply_pool_limits(instance, settings)
        yield Deployment(server, workers, base / "out", postgres, database, process_env)


TOY_KEYS = ["toy-a", "toy-b", "toy-c"]
TOY_PER_RECORDING = ["toy_audio", "toy_segments", "toy_muq_embeddings"]


def _toy_repo(root: Path) -> Path:
    """A model repo whose toy source lists three generated recordings (32 s, 24 kHz mono)."""
    listing = {}
    for seed, key in enumerate(TOY_KEYS, start=1):
        audio = root / "toy_world" / "media" / f"{key}.wav"
        audio.parent.mkdir(parents=True, exist_ok=True)
        audio.write_bytes(wav_bytes(piano_notes(32.0, seed=seed), 24_000))
        listing[key] = {"file": str(audio)}
    (root / "toy_world" / "listing.json").write_text(json.dumps(listing), encoding="utf-8")
    return root


def _celery_workers_by_step(instance: dg.DagsterInstance, run_id: str) -> dict[str, set[str]]:
    """step key -> names of the Celery workers that executed it (from the run's engine events)."""
    workers: dict[str, set[str]] = {}
    for record in instance.get_records_for_run(
        run_id, of_type=DagsterEventType.ENGINE_EVENT
    ).records:
        event = record.event_log_entry.dagster_event
        if event is None or "Executing steps" not in (event.message or ""):
            continue
        metadata = event.engine_event_data.metadata
        worker = metadata.get("Celery worker")
        if worker is not None and event.step_key:
            workers.setdefault(event.step_key, set()).add(str(worker.value).split("@")[0])
    return workers


def _step_intervals(instance: dg.DagsterInstance, run_id: str, step: str) -> tuple[float, float]:
    records = instance.get_records_for_run(
        run_id, of_type={DagsterEventType.STEP_START, DagsterEventType.STEP_SUCCESS}
    ).records
    times = [
        record.event_log_entry.timestamp
        for record in records
        if record.event_log_entry.step_key == step
    ]
    return min(times), max(times)


def test_backfill_runs_on_celery_workers_routed_by_queue(deployment: Deployment) -> None:
    client = deployment.server.client
    keys = [f"bf-{index:02d}" for index in range(8)]
    with deployment.instance() as instance:
        add_new_partitions(instance, PARTITIONS, keys)

    backfill_id = client.launch_backfill([AUDIO, EMBEDDINGS], keys, title="celery backfill")
    backfill = client.wait_for_backfill(backfill_id, timeout=300)

    assert backfill.status == "COMPLETED_SUCCESS", (backfill, deployment.logs())
    assert len(backfill.runs) == 2  # multi_run(4): 8 recordings, 2 runs
    with deployment.instance() as instance:
        for asset in (AUDIO, EMBEDDINGS):
            assert set(keys) <= instance.get_materialized_partitions(dg.AssetKey(asset))
        routed = [_celery_workers_by_step(instance, run.run_id) for run in backfill.runs]
        audio_steps = [_step_intervals(instance, run.run_id, AUDIO) for run in backfill.runs]
    for key in keys:
        assert (
            (deployment.output / "embeddings" / f"{key}.txt")
            .read_text()
            .startswith(f"embedding of {key} ")
        )
    for workers in routed:  # each step ran on a worker of its queue
        assert workers[AUDIO] <= {"audio1", "audio2"}, routed
        assert workers[EMBEDDINGS] == {"gpu1"}, routed
    # Pool `youtube_downloads` (limit 1): the two runs' download steps never overlapped, though
    # two audio workers were free.
    (_, first_end), (second_start, _) = sorted(audio_steps)
    assert first_end <= second_start, audio_steps


def test_a_real_tier_backfills_on_celery_workers_routed_by_queue(deployment: Deployment) -> None:
    """The tier factory's own steps (audio → segments on the `audio` queue, MuQ embeddings on
    `gpu`), real ffmpeg and a tiny random-weight MuQ, over PostgreSQL and Redis."""
    client = deployment.server.client
    catalog = client.wait_for_run(client.launch_assets(["toy_catalog"]), timeout=180)
    assert catalog.status == "SUCCESS", deployment.logs()
    with deployment.instance() as instance:
        assert list(instance.get_dynamic_partitions("toy_recordings")) == TOY_KEYS

    backfill_id = client.launch_backfill(TOY_PER_RECORDING, TOY_KEYS, title="toy tier")
    backfill = client.wait_for_backfill(backfill_id, timeout=420)

    assert backfill.status == "COMPLETED_SUCCESS", (backfill, deployment.logs())
    with deployment.instance() as instance:
        for asset in TOY_PER_RECORDING:
            assert instance.get_materialized_partitions(dg.AssetKey(asset)) == set(TOY_KEYS)
        routed = [_celery_workers_by_step(instance, run.run_id) for run in backfill.runs]
    for workers in routed:
        assert workers["toy_per_recording.toy_recording_audio"] <= {"audio1", "audio2"}, routed
        assert workers["toy_per_recording.toy_recording_embeddings"] == {"gpu1"}, routed
    root = Path(deployment.env["PIANO_ASSETS_ROOT"])
    stored = sorted((root / "model" / "data" / "toy_cache" / "muq_embeddings").glob("*"))
    assert [path.stem for path in stored] == TOY_KEYS
    assert (root / ".piano_assets" / "root.json").is_file()  # every worker saw the shared root


def test_run_launched_through_graphql_is_stored_in_postgres(deployment: Deployment) -> None:
    client = deployment.server.client
    with deployment.instance() as instance:
        add_new_partitions(instance, PARTITIONS, ["ui-0"])

    run_id = client.launch_assets([AUDIO, EMBEDDINGS], partition_key="ui-0")
    run = client.wait_for_run(run_id, timeout=180)

    assert run.status == "SUCCESS", deployment.logs()
    rows = deployment.postgres.query(
        deployment.database, "SELECT status FROM runs WHERE run_id = %s", (run_id,)
    )
    assert rows == [("SUCCESS",)]
    assert (deployment.output / "embeddings" / "ui-0.txt").exists()


def _run_text(instance: dg.DagsterInstance, run_id: str) -> str:
    """Every message of a run's log, with the errors its events carry."""
    parts = []
    for record in instance.get_records_for_run(run_id).records:
        entry = record.event_log_entry
        parts.append(entry.message or "")
        data = entry.dagster_event.event_specific_data if entry.dagster_event else None
        error = getattr(data, "error", None)
        if error is not None:
            parts.append(error.to_string())
    return "\n".join(parts)


def _wait_for_file(path: Path, timeout: float = 180.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return path.read_text().strip()
        time.sleep(0.2)
    raise TimeoutError(f"{path} did not appear in {timeout}s")


def _snapshot(directory: Path) -> dict[str, str]:
    return {path.name: path.read_text() for path in sorted(directory.glob("*.txt"))}


def test_a_killed_worker_fails_its_partitions_which_rerun_cleanly(deployment: Deployment) -> None:
    client, output = deployment.server.client, deployment.output
    keys = [f"kill-{index}" for index in range(4)]  # one run of 4 recordings
    with deployment.instance() as instance:
        add_new_partitions(instance, PARTITIONS, keys)
    before = _snapshot(output / "embeddings")  # what earlier tests materialized
    hold = output / "holds" / "kill-2"
    hold.parent.mkdir(parents=True, exist_ok=True)
    hold.touch()

    backfill_id = client.launch_backfill([AUDIO, EMBEDDINGS], keys, title="killed worker")
    pid = int(_wait_for_file(output / "started" / "kill-2"))
    os.kill(pid, signal.SIGKILL)  # the worker process running the audio step dies
    hold.unlink()
    backfill = client.wait_for_backfill(backfill_id, timeout=300)

    (run,) = backfill.runs
    assert run.status == "FAILURE", deployment.logs()
    statuses = client.partition_statuses(AUDIO)
    assert set(keys) <= set(statuses["failed"])  # the UI shows exactly these as failed
    assert not set(keys) & set(client.partition_statuses(EMBEDDINGS)["materialized"])
    assert not (output / "audio" / "kill-2.txt").exists()  # the partial file never counts
    with deployment.instance() as instance:
        failure_text = _run_text(instance, run.run_id)
    assert "WorkerLostError" in failure_text or "exited prematurely" in failure_text

    rerun_id = client.reexecute_run(run.run_id, strategy="FROM_FAILURE")
    rerun = client.wait_for_run(rerun_id, timeout=240)

    assert rerun.status == "SUCCESS", deployment.logs()
    with deployment.instance() as instance:
        for asset in (AUDIO, EMBEDDINGS):
            assert set(keys) <= instance.get_materialized_partitions(dg.AssetKey(asset))
    for key in keys:
        assert (output / "embeddings" / f"{key}.txt").read_text().startswith(f"embedding of {key}")
    after = _snapshot(output / "embeddings")
    assert {name: after[name] for name in before} == before  # nothing else touched or lost
    assert all(worker.popen.poll() is None for worker in deployment.workers.values())


def test_a_killed_in_process_run_is_marked_failed_by_run_monitoring(
    deployment: Deployment,
) -> None:
    """`piano-assets main` runs in its own process; killed, only run monitoring can see it."""
    client, output = deployment.server.client, deployment.output
    key = "mon-0"
    with deployment.instance() as instance:
        add_new_partitions(instance, PARTITIONS, [key])
    hold = output / "holds" / key
    hold.parent.mkdir(parents=True, exist_ok=True)
    hold.touch()
    script = (
        "import sys, dagster as dg\n"
        "from piano_assets.deploy.launcher import run_worker_tags\n"
        "from piano_assets_tests.fixtures_scale.routed_location import scale_audio\n"
        "with dg.DagsterInstance.get() as instance:\n"
        "    dg.materialize([scale_audio], instance=instance, partition_key=sys.argv[1],\n"
        "                   tags={**run_worker_tags(), 'test': 'monitoring'})\n"
    )
    worker = subprocess.Popen(
        [sys.executable, "-c", script, key], env=deployment.env, cwd=REPO_ROOT
    )
    try:
        assert int(_wait_for_file(output / "started" / key)) == worker.pid
    finally:
        worker.kill()
        worker.wait()
    hold.unlink()
    (run,) = client.runs(tags={"test": "monitoring"})
    assert run.tags[WORKER_HOST_TAG]

    failed = client.wait_for_run(run.run_id, timeout=120)

    assert failed.status == "FAILURE"
    with deployment.instance() as instance:
        text = _run_text(instance, run.run_id)
    assert f"the run worker (pid {worker.pid} on" in text and "is gone" in text, text[-3000:]
    # The recording is redone by a new run, launched as from the UI.
    rerun = client.wait_for_run(client.launch_assets([AUDIO], partition_key=key), timeout=180)
    assert rerun.status == "SUCCESS", deployment.logs()
    assert (output / "audio" / f"{key}.txt").exists()
