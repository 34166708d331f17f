"""The Dagster instance's `dagster.yaml`, rendered from `PIANO_ASSETS_*` settings.

* storage: SQLite under DAGSTER_HOME (the default, as before) or PostgreSQL
  (`PIANO_ASSETS_STORAGE=postgres`, dagster-postgres; `scheme: postgresql+psycopg2` because
  SQLAlchemy 2.1 reads a bare `postgresql://` as psycopg 3, which is not installed). The password
  is never written: the file names the variable `PIANO_ASSETS_POSTGRES_PASSWORD`, which Dagster
  reads in each process.
* run monitoring on, with `MonitoredRunLauncher` (the default launcher plus a check that each
  run's worker process is alive), so a killed run is marked failed and can be re-executed;
* the queued run coordinator with `max_concurrent_runs`;
* concurrency pools at op granularity (default limit 1; `apply_pool_limits` sets `muq`,
  `youtube_downloads` and `audio` on the instance, since dagster.yaml has no per-pool limits);
* telemetry off.

A file carrying `GENERATED_MARKER` is ours and is rewritten when the settings change; a file
without it was edited by someone and is left alone (the outcome says so).

    python -m piano_assets.deploy.instance [--home DIR] [--print] [--apply-pools]
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml

from piano_assets.deploy.config import deploy_settings, problems
from piano_assets.deploy.files import write_text_atomically
from piano_assets.deploy.routing import pool_limits
from piano_assets.scale_settings import StorageKind
from piano_assets.settings import PLATFORM_HOME, PianoAssetsSettings

if TYPE_CHECKING:
    from dagster import DagsterInstance

GENERATED_MARKER = "# piano-assets: generated from PIANO_ASSETS_* settings"
POSTGRES_PASSWORD_ENV = "PIANO_ASSETS_POSTGRES_PASSWORD"  # noqa: S105 (a variable name)
POSTGRES_SCHEME = "postgresql+psycopg2"
DEFAULT_POOL_LIMIT = 1  # a pool nobody configured runs one step at a time
# What `piano-assets` wrote before this renderer existed: still ours, so it is upgraded.
LEGACY_DAGSTER_YAML = """\
# Written by piano-assets for the local sample; edit freely (storage, run launcher, ...).
telemetry:
  enabled: false
concurrency:
  pools:
    default_limit: 1  # MuQ steps (pool "muq") run one at a time on this machine
"""

WriteAction = Literal["written", "updated", "unchanged", "kept"]


def default_dagster_home() -> Path:
    """$DAGSTER_HOME, or the persistent one under `.piano_assets/` that `./dev ui` shares."""
    home = os.environ.get("DAGSTER_HOME")
    return Path(home) if home else PLATFORM_HOME / ".piano_assets" / "dagster_home"


def storage_config(settings: PianoAssetsSettings) -> dict[str, Any] | None:
    """The `storage:` block; None keeps Dagster's SQLite files under DAGSTER_HOME."""
    if settings.storage != StorageKind.POSTGRES:
        return None
    postgres_db: dict[str, Any] = {
        "username": settings.postgres_user,
        "hostname": settings.postgres_host,
        "db_name": settings.postgres_db,
        "port": settings.postgres_port,
        "scheme": POSTGRES_SCHEME,
    }
    if settings.postgres_password is not None:
        postgres_db["password"] = {"env": POSTGRES_PASSWORD_ENV}
    return {"postgres": {"postgres_db": postgres_db}}


def instance_config(settings: PianoAssetsSettings) -> dict[str, Any]:
    """The instance configuration (the content of `dagster.yaml`) for these settings."""
    config: dict[str, Any] = {}
    storage = storage_config(settings)
    if storage is not None:
        config["storage"] = storage
    config["run_coordinator"] = {
        "module": "dagster._core.run_coordinator",
        "class": "QueuedRunCoordinator",
    }
    config["run_launcher"] = {
        "module": "piano_assets.deploy.launcher",
        "class": "MonitoredRunLauncher",
    }
    config["run_monitoring"] = {
        "enabled": True,
        "start_timeout_seconds": 180,
        "cancel_timeout_seconds": 180,
        "max_resume_run_attempts": 0,  # the local launcher cannot resume; re-execute instead
        "poll_interval_seconds": settings.run_monitoring_poll_s,
        # A killed step never frees its pool slot; the daemon frees it once its run has ended.
        "free_slots_after_run_end_seconds": settings.pool_slot_grace_s,
    }
    config["concurrency"] = {
        "runs": {"max_concurrent_runs": settings.max_concurrent_runs},
        "pools": {"default_limit": DEFAULT_POOL_LIMIT, "granularity": "op"},
    }
    config["telemetry"] = {"enabled": False}
    return config


def render_instance_yaml(settings: PianoAssetsSettings) -> str:
    header = [
        GENERATED_MARKER,
        f"# storage={settings.storage.value} executor={settings.executor.value}. "
        "Rewritten while the line above is here;",
        "# delete that line to keep your own edits. Pool limits: "
        "python -m piano_assets.deploy.instance --apply-pools",
    ]
    header += [f"# setting problem: {problem}" for problem in problems(settings)]
    body = yaml.safe_dump(instance_config(settings), sort_keys=False, default_flow_style=False)
    return "\n".join(header) + "\n" + body


@dataclass(frozen=True)
class InstanceYamlOutcome:
    path: Path
    action: WriteAction
    message: str


def is_generated(text: str) -> bool:
    return text.startswith(GENERATED_MARKER) or text == LEGACY_DAGSTER_YAML


def write_instance_yaml(
    dagster_home: Path, settings: PianoAssetsSettings | None = None
) -> InstanceYamlOutcome:
    """Write `dagster.yaml` when absent or ours; never overwrite a file someone edited."""
    resolved = settings if settings is not None else deploy_settings()
    dagster_home.mkdir(parents=True, exist_ok=True)
    path = dagster_home / "dagster.yaml"
    wanted = render_instance_yaml(resolved)
    if not path.exists():
        write_text_atomically(path, wanted)
        return InstanceYamlOutcome(path, "written", f"wrote {path}")
    current = path.read_text(encoding="utf-8")
    if not is_generated(current):
        return InstanceYamlOutcome(
            path,
            "kept",
            f"{path} was edited by hand (no '{GENERATED_MARKER}' line): left as is, so "
            f"storage={resolved.storage.value} and the run monitoring settings are NOT applied; "
            "merge them yourself (python -m piano_assets.deploy.instance --print) or delete the "
            "file to let piano-assets write it",
        )
    if current == wanted:
        return InstanceYamlOutcome(path, "unchanged", f"{path} is up to date")
    write_text_atomically(path, wanted)
    return InstanceYamlOutcome(path, "updated", f"rewrote {path} from the current settings")


def apply_pool_limits(
    instance: DagsterInstance, settings: PianoAssetsSettings | None = None
) -> dict[str, int]:
    """Set each pool's limit on the instance (where Dagster keeps them); return those changed."""
    resolved = settings if settings is not None else deploy_settings()
    storage = instance.event_log_storage
    current = {limit.name: limit.limit for limit in storage.get_pool_limits()}
    changed = {}
    for pool, limit in pool_limits(resolved).items():
        if current.get(pool) != limit:
            storage.set_concurrency_slots(pool, limit)
            changed[pool] = limit
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m piano_assets.deploy.instance", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--home", type=Path, default=None, help="default: $DAGSTER_HOME")
    parser.add_argument("--print", action="store_true", help="print the YAML, write nothing")
    parser.add_argument(
        "--apply-pools", action="store_true", help="also set the pool limits on the instance"
    )
    args = parser.parse_args(argv)
    settings = deploy_settings()
    for problem in problems(settings):
        print(f"warning: {problem}", file=sys.stderr)
    if args.print:
        print(render_instance_yaml(settings), end="")
        return 0
    home = (args.home or default_dagster_home()).absolute()
    outcome = write_instance_yaml(home, settings)
    print(outcome.message)
    if args.apply_pools:
        import dagster as dg

        with dg.DagsterInstance.from_config(str(home)) as instance:
            changed = apply_pool_limits(instance, settings)
        print(f"pool limits set: {changed}" if changed else "pool limits already set")
    return 0


if __name__ == "__main__":
    sys.exit(main())
