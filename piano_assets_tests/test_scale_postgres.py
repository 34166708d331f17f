"""Instance storage on a real PostgreSQL server, chosen by settings (fixtures: conftest.py)."""

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
import yaml

from piano_assets.deploy.instance import write_instance_yaml
from piano_assets.lib.partitions import add_new_partitions
from piano_assets.settings import PianoAssetsSettings
from piano_assets_tests.services import PostgresServer

REPO_ROOT = Path(__file__).resolve().parents[1]
RECORDINGS = dg.DynamicPartitionsDefinition(name="pg_recordings")


@dg.asset(partitions_def=RECORDINGS)
def pg_recording_length(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"characters": len(context.partition_key)})


def _postgres_home(
    tmp_path: Path, postgres: PostgresServer, database: str, monkeypatch: pytest.MonkeyPatch
) -> Path:
    for name, value in postgres.settings_env(database).items():
        monkeypatch.setenv(name, value)
    home = tmp_path / "dagster_home"
    assert write_instance_yaml(home, PianoAssetsSettings()).action == "written"
    return home


def test_settings_put_runs_events_and_partitions_in_postgres(
    tmp_path: Path,
    postgres: PostgresServer,
    postgres_database: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    home = _postgres_home(tmp_path, postgres, postgres_database, monkeypatch)
    keys = [f"rec-{index:05d}" for index in range(12_000)]  # two chunks and a bit

    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert add_new_partitions(instance, RECORDINGS.name, keys) == keys
        result = dg.materialize([pg_recording_length], instance=instance, partition_key="rec-00042")
        assert result.success
        assert instance.get_materialized_partitions(pg_recording_length.key) == {"rec-00042"}

    # Read back with plain SQL: the data lives in the server, not in DAGSTER_HOME.
    (runs,) = postgres.query(postgres_database, "SELECT count(*) FROM runs")[0]
    (partitions,) = postgres.query(
        postgres_database,
        "SELECT count(*) FROM dynamic_partitions WHERE partitions_def_name = 'pg_recordings'",
    )[0]
    assert (runs, partitions) == (1, 12_000)
    assert not (home / "storage" / "runs.db").exists()


def test_without_the_psycopg2_scheme_sqlalchemy_looks_for_psycopg3(
    tmp_path: Path,
    postgres: PostgresServer,
    postgres_database: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Why the rendered dagster.yaml names the scheme `postgresql+psycopg2`."""
    home = _postgres_home(tmp_path, postgres, postgres_database, monkeypatch)
    config = yaml.safe_load((home / "dagster.yaml").read_text())
    del config["storage"]["postgres"]["postgres_db"]["scheme"]
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))

    with pytest.raises(ModuleNotFoundError, match="psycopg"):
        dg.DagsterInstance.from_config(str(home))


@pytest.mark.slow
def test_main_command_runs_the_whole_graph_on_postgres(
    tmp_path: Path, postgres: PostgresServer, postgres_database: str
) -> None:
    """`piano-assets main` on the sample, its instance on PostgreSQL by settings alone."""
    home = tmp_path / "dagster_home"  # empty: the command writes dagster.yaml from the settings
    env = {
        **os.environ,
        **postgres.settings_env(postgres_database),
        "DAGSTER_HOME": str(home),
        "PIANO_ASSETS_SAMPLE_DIR": str(tmp_path / "sample"),
        "PYTHONPATH": str(REPO_ROOT),
    }
    env.pop("PIANO_ASSETS_ROOT", None)
    result = subprocess.run(
        [sys.executable, "-m", "piano_assets.cli", "main"],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    assert "# Readiness: COMPLETE (6/6 criteria pass)" in result.stdout

    config = yaml.safe_load((home / "dagster.yaml").read_text())
    assert config["storage"]["postgres"]["postgres_db"]["db_name"] == postgres_database
    assert "PIANO_ASSETS_POSTGRES_PASSWORD" in (home / "dagster.yaml").read_text()
    assert postgres.password not in (home / "dagster.yaml").read_text()
    (runs,) = postgres.query(postgres_database, "SELECT count(*) FROM runs")[0]
    (failed,) = postgres.query(
        postgres_database, "SELECT count(*) FROM runs WHERE status <> 'SUCCESS'"
    )[0]
    (materializations,) = postgres.query(
        postgres_database,
        "SELECT count(*) FROM event_logs WHERE dagster_event_type = 'ASSET_MATERIALIZATION'",
    )[0]
    # One run fails by design: the sample's removed T4 video fails its own partition (the main
    # command reports it as permanently unavailable and succeeds); every other run succeeds.
    assert "UNAVAILABLE at the source" in result.stdout
    (failed_elsewhere,) = postgres.query(
        postgres_database,
        "SELECT count(*) FROM runs WHERE status <> 'SUCCESS' AND run_body NOT LIKE %s",
        ("%youtube_piano_audio%",),
    )[0]
    assert runs >= 4 and failed == 1 and failed_elsewhere == 0
    (tagged,) = postgres.query(  # run monitoring can tell when a killed `main` left a run behind
        postgres_database,
        "SELECT count(DISTINCT run_id) FROM run_tags WHERE key = 'piano_assets/worker_host'",
    )[0]
    assert tagged == runs
    assert materializations > 20
    pools = dict(
        postgres.query(
            postgres_database,
            "SELECT concurrency_key, count(*) FROM concurrency_slots GROUP BY concurrency_key",
        )
    )
    assert pools.get("muq") == 1 and pools.get("audio") == 4
    assert not (home / "storage" / "runs.db").exists()  # nothing went to SQLite
