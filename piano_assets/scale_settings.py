"""Scale-out settings (`piano_assets/deploy/`, docs/scaling-out.md), mixed into the settings.

Kept apart from `settings.py` so that the main settings stay short; `PianoAssetsSettings`
inherits these fields (environment variables `PIANO_ASSETS_<FIELD>` like the others).
Dagster-free and importing nothing from the package, so any module can import it.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, Field, SecretStr, TypeAdapter, ValidationError, model_validator


class ExecutorKind(StrEnum):
    MULTIPROCESS = "multiprocess"  # one machine, one process per step (the embedded default)
    CELERY = "celery"  # steps on Celery workers over a broker (Redis), routed by queue
    K8S = "k8s"  # one Kubernetes job per step (with the Helm chart's K8sRunLauncher)


class StorageKind(StrEnum):
    SQLITE = "sqlite"  # files under DAGSTER_HOME (the embedded default)
    POSTGRES = "postgres"  # a PostgreSQL server shared by every process and worker


# Scale-out settings (`piano_assets/deploy/`) are read leniently: a bad value falls back to the
# default and is reported (in `setting_problems`, and in the log of every run), because the code
# location must load even when a deployment variable is wrong.
LENIENT_FIELDS = (
    "executor",
    "max_concurrent_steps",
    "celery_broker_url",
    "celery_backend_url",
    "celery_audio_queue",
    "celery_muq_queue",
    "celery_visibility_timeout_s",
    "storage",
    "postgres_host",
    "postgres_port",
    "postgres_user",
    "postgres_db",
    "postgres_password",
    "max_concurrent_runs",
    "run_monitoring_poll_s",
    "pool_slot_grace_s",
    "muq_pool_limit",
    "audio_pool_limit",
    "youtube_download_slots",
    "youtube_downloads_per_hour",
    "k8s_gpu_node_selector",
    "k8s_gpu_toleration_key",
    "k8s_gpus_per_muq_step",
    "root_id",
)


class ScaleOutSettings(BaseModel):
    """Executor, instance storage, pools, Kubernetes routing and the shared root's id."""

    executor: ExecutorKind = Field(
        default=ExecutorKind.MULTIPROCESS, description="multiprocess (default), celery or k8s"
    )
    max_concurrent_steps: int | None = Field(
        default=None, ge=1, description="multiprocess executor: steps at once (default: CPUs)"
    )
    celery_broker_url: str | None = Field(
        default=None, description="Celery broker, e.g. redis://host:6379/0 (required for celery)"
    )
    celery_backend_url: str | None = Field(
        default=None, description="Celery result backend; default: the broker URL"
    )
    celery_audio_queue: str = Field(
        default="audio", min_length=1, description="queue of download/convert/segment steps"
    )
    celery_muq_queue: str = Field(
        default="gpu", min_length=1, description="queue of MuQ steps (workers with a GPU)"
    )
    celery_visibility_timeout_s: int = Field(
        default=7200,
        ge=10,
        description="a step whose worker died is redelivered after this; longer than any step",
    )
    storage: StorageKind = Field(
        default=StorageKind.SQLITE, description="instance storage: sqlite (default) or postgres"
    )
    postgres_host: str = "localhost"
    postgres_port: int = Field(default=5432, ge=1, le=65535)
    postgres_user: str = "dagster"
    postgres_db: str = "dagster"
    postgres_password: SecretStr | None = Field(
        default=None,
        description="never written to dagster.yaml: Dagster reads this variable at start-up",
    )
    max_concurrent_runs: int = Field(default=10, ge=1, description="runs in progress at once")
    run_monitoring_poll_s: int = Field(
        default=30, ge=1, description="how often the daemon checks that run workers are alive"
    )
    pool_slot_grace_s: int = Field(
        default=30,
        ge=1,
        description="a killed step's pool slot is freed this long after its run ended",
    )
    muq_pool_limit: int = Field(default=1, ge=1, description="MuQ steps at once (pool `muq`)")
    audio_pool_limit: int = Field(
        default=4, ge=1, description="local-audio steps at once (pool `audio`)"
    )
    youtube_download_slots: int = Field(
        default=1, ge=1, description="download steps at once (pool `youtube_downloads`)"
    )
    youtube_downloads_per_hour: int = Field(
        default=300, ge=1, description="YouTube allows about 300 videos an hour per session"
    )
    k8s_gpu_node_selector: str = Field(
        default="nvidia.com/gpu.present=true",
        description="label=value of the GPU nodes that MuQ steps must run on",
    )
    k8s_gpu_toleration_key: str = Field(
        default="nvidia.com/gpu", description="taint key of the GPU nodes (effect NoSchedule)"
    )
    k8s_gpus_per_muq_step: int = Field(default=1, ge=1, description="nvidia.com/gpu per step")
    root_id: str | None = Field(
        default=None,
        description="expected id in <root>/.piano_assets/root.json; set it on every worker",
    )
    setting_problems: list[str] = Field(
        default_factory=list,
        exclude=True,
        description="scale-out values that were invalid and fell back (filled at load)",
    )

    @model_validator(mode="before")
    @classmethod
    def _lenient_scale_out_values(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        kept = {key: value for key, value in data.items() if key != "setting_problems"}
        problems: list[str] = []
        for name in LENIENT_FIELDS:
            if name not in kept:
                continue
            field = cls.model_fields[name]
            if field.annotation is None:
                raise TypeError(f"setting {name} is lenient but has no type annotation")
            annotated = (
                Annotated[field.annotation, *field.metadata] if field.metadata else field.annotation
            )
            # An Annotated[...] built at run time is a valid type form; mypy types it as a
            # special form object instead.
            adapter: TypeAdapter[Any] = TypeAdapter(annotated)  # type: ignore[arg-type]
            try:
                adapter.validate_python(kept[name])
            except ValidationError as err:
                reason = err.errors()[0]["msg"]
                shown = "(hidden)" if name == "postgres_password" else repr(kept[name])
                default = field.get_default(call_default_factory=True)
                default_text = getattr(default, "value", default)
                problems.append(
                    f"PIANO_ASSETS_{name.upper()}={shown} is invalid ({reason}); "
                    f"using the default {default_text!r}"
                )
                del kept[name]
        kept["setting_problems"] = problems
        return kept
