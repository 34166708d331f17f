"""The Celery app of the workers: `celery -A piano_assets.deploy.celery_app worker -Q audio`.

Built from the same settings as the executor (`PIANO_ASSETS_CELERY_BROKER_URL`, ...), so the
runs that submit steps and the workers that run them agree on broker, backend and acknowledgement.
A worker checks the model repo root when it starts (when `PIANO_ASSETS_ROOT` is set) and refuses
to start, naming the path, if it cannot see it.

    celery -A piano_assets.deploy.celery_app worker -Q audio -c 2 -n audio@%h   # CPU workers
    celery -A piano_assets.deploy.celery_app worker -Q gpu -c 1 -n gpu@%h       # GPU workers
"""

from __future__ import annotations

from typing import Any

from celery import Celery, signals
from dagster_celery.executor import CeleryExecutor
from dagster_celery.make_app import make_app
from dagster_celery.tasks import create_task

from piano_assets.deploy.config import deploy_settings, logger, problems
from piano_assets.deploy.executor import celery_executor_config
from piano_assets.deploy.shared_root import SharedRootError, verify_shared_root
from piano_assets.settings import PianoAssetsSettings


def build_app(settings: PianoAssetsSettings) -> Celery:
    config = celery_executor_config(settings)
    executor = CeleryExecutor.for_cli(
        broker=config["broker"], backend=config["backend"], config_source=config["config_source"]
    )
    return make_app(executor.app_args())


settings = deploy_settings()
for problem in problems(settings):
    logger.warning("piano_assets settings: %s", problem)
app = build_app(settings)
execute_plan = create_task(app)


@signals.worker_init.connect
def _check_model_repo_root(**_kwargs: Any) -> None:
    if settings.root is None:
        return
    try:
        marker = verify_shared_root(settings.root, settings.root_id)
    except SharedRootError as err:
        # Celery logs and swallows a handler's Exception; SystemExit stops the worker.
        raise SystemExit(f"piano_assets worker refuses to start: {err}") from err
    logger.info("model repo root %s (id %s) is mounted", settings.root, marker.root_id)
