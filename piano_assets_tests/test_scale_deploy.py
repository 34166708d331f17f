"""The scale-out helpers on their own: settings, routing tags, dagster.yaml, executor, root check.

Fast: no servers (those are in test_scale_services.py). Each YAML and tag is checked by the
Dagster library that will read it (instance config schema, dagster-k8s's tag schema).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest
import yaml
from dagster._core.instance.config import dagster_instance_config
from dagster_k8s.job import get_user_defined_k8s_config

from piano_assets.deploy.executor import executor_from_settings
from piano_assets.deploy.instance import (
    GENERATED_MARKER,
    LEGACY_DAGSTER_YAML,
    apply_pool_limits,
    instance_config,
    render_instance_yaml,
    write_instance_yaml,
)
from piano_assets.deploy.launcher import (
    WORKER_HOST_TAG,
    process_alive,
    run_worker_tags,
    worker_is_local,
)
from piano_assets.deploy.routing import (
    pool_limits,
    step_pool,
    step_tags,
    youtube_download_interval_s,
)
from piano_assets.deploy.shared_root import SharedRootError, marker_path, verify_shared_root
from piano_assets.scale_settings import ExecutorKind, StorageKind
from piano_assets.settings import PianoAssetsSettings

REPO_ROOT = Path(__file__).resolve().parents[1]


def settings(**values: object) -> PianoAssetsSettings:
    return PianoAssetsSettings(**values)  # type: ignore[arg-type]


# -- settings -----------------------------------------------------------------------------------


def test_bad_scale_out_values_fall_back_and_are_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIANO_ASSETS_EXECUTOR", "celerry")
    monkeypatch.setenv("PIANO_ASSETS_MUQ_POOL_LIMIT", "many")
    monkeypatch.setenv("PIANO_ASSETS_POSTGRES_PASSWORD", "")
    monkeypatch.setenv("PIANO_ASSETS_STORAGE", "postgres")
    loaded = PianoAssetsSettings()

    assert loaded.executor == ExecutorKind.MULTIPROCESS
    assert loaded.muq_pool_limit == 1
    assert loaded.storage == StorageKind.POSTGRES  # good values are kept
    text = "\n".join(loaded.setting_problems)
    assert "PIANO_ASSETS_EXECUTOR='celerry'" in text and "'multiprocess'" in text
    assert "PIANO_ASSETS_MUQ_POOL_LIMIT='many'" in text


def test_good_values_report_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIANO_ASSETS_EXECUTOR", "celery")
    monkeypatch.setenv("PIANO_ASSETS_CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
    loaded = PianoAssetsSettings()
    assert loaded.executor == ExecutorKind.CELERY
    assert loaded.setting_problems == []


# -- routing ------------------------------------------------------------------------------------


def test_celery_tags_route_audio_and_muq_to_their_queues() -> None:
    celery = settings(executor="celery", celery_muq_queue="h200")
    assert step_tags("audio", celery)["dagster-celery/queue"] == "audio"
    assert step_tags("muq", celery)["dagster-celery/queue"] == "h200"
    assert "dagster-k8s/config" not in step_tags("muq", celery)


def test_k8s_tags_put_muq_on_gpu_nodes_and_dagster_k8s_accepts_them() -> None:
    k8s = settings(executor="k8s", k8s_gpus_per_muq_step=2)
    muq = get_user_defined_k8s_config(step_tags("muq", k8s))  # dagster-k8s's own validation
    audio = get_user_defined_k8s_config(step_tags("audio", k8s))

    assert muq.container_config["resources"]["limits"] == {"nvidia.com/gpu": "2"}
    assert muq.pod_spec_config["node_selector"] == {"nvidia.com/gpu.present": "true"}
    (toleration,) = muq.pod_spec_config["tolerations"]
    assert toleration == {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
    assert audio.container_config == {} and audio.pod_spec_config == {}


def test_multiprocess_tags_only_name_the_kind() -> None:
    assert step_tags("muq", settings()) == {"piano_assets/step_kind": "muq"}
    with pytest.raises(ValueError, match="'gpu'"):
        step_tags("gpu", settings())  # type: ignore[arg-type]


def test_pools_and_the_download_pace() -> None:
    assert step_pool("muq") == "muq"
    assert step_pool("audio") == "youtube_downloads"
    assert step_pool("audio", source="local") == "audio"
    paced = settings(youtube_download_slots=2, youtube_downloads_per_hour=240)
    assert pool_limits(paced) == {"muq": 1, "youtube_downloads": 2, "audio": 4}
    # two downloads at once, each pausing 30 s between videos: 240 an hour at most
    assert youtube_download_interval_s(paced) == 30.0


# -- dagster.yaml -------------------------------------------------------------------------------


def test_sqlite_yaml_keeps_default_storage_and_turns_monitoring_on(tmp_path: Path) -> None:
    outcome = write_instance_yaml(tmp_path, settings())
    text = outcome.path.read_text()
    config = yaml.safe_load(text)

    assert outcome.action == "written"
    assert text.startswith(GENERATED_MARKER)
    assert "storage" not in config  # SQLite files under DAGSTER_HOME, as before
    assert config["run_monitoring"]["enabled"] is True
    assert config["run_launcher"]["class"] == "MonitoredRunLauncher"
    assert config["concurrency"]["pools"] == {"default_limit": 1, "granularity": "op"}
    assert config["telemetry"] == {"enabled": False}
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:  # Dagster loads it
        assert instance.run_monitoring_enabled
        assert instance.run_launcher.supports_check_run_worker_health
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        assert apply_pool_limits(instance, settings(muq_pool_limit=2)) == {
            "muq": 2,
            "youtube_downloads": 1,
            "audio": 4,
        }
        assert apply_pool_limits(instance, settings(muq_pool_limit=2)) == {}
        limits = {pool.name: pool.limit for pool in instance.event_log_storage.get_pool_limits()}
        assert limits["muq"] == 2


def test_postgres_yaml_names_the_password_variable_and_the_psycopg2_scheme(tmp_path: Path) -> None:
    chosen = settings(
        storage="postgres",
        postgres_host="db",
        postgres_port=6543,
        postgres_password="s3cret",  # noqa: S106
    )
    text = render_instance_yaml(chosen)
    config = instance_config(chosen)

    assert "s3cret" not in text
    postgres_db = config["storage"]["postgres"]["postgres_db"]
    assert postgres_db == {
        "username": "dagster",
        "hostname": "db",
        "db_name": "dagster",
        "port": 6543,
        "scheme": "postgresql+psycopg2",
        "password": {"env": "PIANO_ASSETS_POSTGRES_PASSWORD"},
    }
    (tmp_path / "dagster.yaml").write_text(text)
    validated, _ = dagster_instance_config(str(tmp_path))  # Dagster's schema, no connection
    assert validated["storage"]["postgres"]["postgres_db"]["scheme"] == "postgresql+psycopg2"


def test_yaml_is_rewritten_only_while_ours(tmp_path: Path) -> None:
    path = tmp_path / "dagster.yaml"
    path.write_text(LEGACY_DAGSTER_YAML)  # what piano-assets wrote before: upgraded
    assert write_instance_yaml(tmp_path, settings()).action == "updated"
    assert write_instance_yaml(tmp_path, settings()).action == "unchanged"
    assert write_instance_yaml(tmp_path, settings(storage="postgres")).action == "updated"

    edited = "# my own instance\ntelemetry:\n  enabled: true\n"
    path.write_text(edited)
    outcome = write_instance_yaml(tmp_path, settings(storage="postgres"))
    assert outcome.action == "kept"
    assert "edited by hand" in outcome.message and "storage=postgres" in outcome.message
    assert path.read_text() == edited


def test_cli_writes_the_rendered_yaml(tmp_path: Path) -> None:
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path), "PYTHONPATH": str(REPO_ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "piano_assets.deploy.instance", "--apply-pools"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "wrote" in result.stdout and "pool limits set" in result.stdout
    assert (tmp_path / "dagster.yaml").read_text().startswith(GENERATED_MARKER)


# -- executor -----------------------------------------------------------------------------------


def test_executor_follows_the_setting() -> None:
    assert executor_from_settings(settings()).name == "multi_or_in_process_executor"
    celery = executor_from_settings(
        settings(executor="celery", celery_broker_url="redis://127.0.0.1:1/0")
    )
    assert celery.name == "celery"
    assert executor_from_settings(settings(executor="k8s")).name == "k8s"


@dg.asset
def _one() -> int:
    return 1


def test_unusable_executor_falls_back_and_every_run_says_why(tmp_path: Path) -> None:
    """Celery without a broker URL: the definitions load, runs use multiprocess and say so."""
    job = _fallback_job()
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        result = dg.execute_job(dg.reconstructable(_fallback_job), instance=instance)
        engine_messages = [
            event.message or ""
            for event in result.all_events
            if event.event_type_value == "ENGINE_EVENT"
        ]
    assert job.executor_def.name == "multi_or_in_process_executor"
    assert result.success
    assert any(
        "celery executor could not be set up" in message
        and "PIANO_ASSETS_CELERY_BROKER_URL" in message
        and "multiprocess" in message
        for message in engine_messages
    ), engine_messages


def _fallback_job() -> dg.JobDefinition:
    executor = executor_from_settings(settings(executor="celery"))
    defs = dg.Definitions(
        assets=[_one], jobs=[dg.define_asset_job("fallback", [_one])], executor=executor
    )
    return defs.resolve_job_def("fallback")


# -- run worker health --------------------------------------------------------------------------


def test_process_alive_sees_a_killed_process_and_a_reused_pid() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        time.sleep(0.2)
        assert process_alive(child.pid, started_by=time.time())
        assert not process_alive(child.pid, started_by=time.time() - 3600)  # younger: reused
    finally:
        child.kill()
    time.sleep(0.2)  # killed, not reaped yet: a zombie counts as gone
    assert not process_alive(child.pid, started_by=time.time())
    child.wait()
    assert not process_alive(child.pid, started_by=time.time())


def test_only_local_workers_are_judged() -> None:
    assert worker_is_local(run_worker_tags())
    assert not worker_is_local({WORKER_HOST_TAG: "another-host"})
    assert worker_is_local({".dagster/grpc_info": json.dumps({"host": "localhost", "port": 1})})
    assert worker_is_local({".dagster/grpc_info": json.dumps({"host": "", "socket": "/tmp/s"})})
    assert not worker_is_local({".dagster/grpc_info": json.dumps({"host": "code", "port": 1})})
    assert not worker_is_local({})


# -- shared model repo root ---------------------------------------------------------------------


def test_root_marker_is_written_once_and_checked(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "model").mkdir()
    first = verify_shared_root(root)
    again = verify_shared_root(root, expected_id=first.root_id)

    assert again == first
    assert json.loads(marker_path(root).read_text())["root_id"] == first.root_id
    with pytest.raises(SharedRootError, match="different model repo"):
        verify_shared_root(root, expected_id="another")


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda p: None, "does not exist"),
        (lambda p: p.mkdir(), "is empty"),
        (lambda p: p.write_text("x"), "is not a directory"),
    ],
)
def test_a_worker_that_cannot_see_the_root_fails_naming_it(
    tmp_path: Path, make: object, expected: str
) -> None:
    root = tmp_path / "mnt" / "model-repo"
    root.parent.mkdir()
    make(root)  # type: ignore[operator]
    with pytest.raises(SharedRootError) as err:
        verify_shared_root(root)
    assert expected in str(err.value)
    assert str(root) in str(err.value) and "every worker must mount" in str(err.value)


def test_a_celery_worker_without_the_root_refuses_to_start(tmp_path: Path) -> None:
    empty_mount = tmp_path / "mnt" / "model-repo"
    empty_mount.mkdir(parents=True)
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT),
        "PIANO_ASSETS_ROOT": str(empty_mount),
        # Never reached: the check runs before the worker connects to its broker.
        "PIANO_ASSETS_CELERY_BROKER_URL": "redis://127.0.0.1:9/0",
    }
    celery = [sys.executable, "-m", "celery", "-A", "piano_assets.deploy.celery_app"]
    result = subprocess.run(
        [*celery, "worker", "-Q", "audio", "-c", "1", "--without-gossip", "--without-mingle"],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert "refuses to start" in result.stderr
    assert f"model repo root {empty_mount} is empty" in result.stderr
