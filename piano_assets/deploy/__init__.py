"""Scale-out by configuration: executor, instance `dagster.yaml`, step routing, shared storage.

Dagster-light helpers (only `executor.py` and `launcher.py` build Dagster objects); every choice
comes from `PIANO_ASSETS_*` settings, so the same code runs on one machine (SQLite, multiprocess
executor: the embedded default), on Celery workers over Redis with PostgreSQL storage, or on
Kubernetes with the Helm chart in `deploy/helm/`. See `docs/scaling-out.md`.
"""

from piano_assets.deploy.routing import StepKind, pool_limits, step_pool, step_tags

__all__ = ["StepKind", "pool_limits", "step_pool", "step_tags"]
