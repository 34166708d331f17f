"""The executor named by `PIANO_ASSETS_EXECUTOR`, for `dg.Definitions(executor=...)`.

* `multiprocess` (default): Dagster's default executor, unchanged (`max_concurrent` from
  `PIANO_ASSETS_MAX_CONCURRENT_STEPS` when set).
* `celery`: `dagster_celery.celery_executor` over `PIANO_ASSETS_CELERY_BROKER_URL` (Redis), with
  the same Celery configuration as the workers (`piano_assets.deploy.celery_app`). Steps go to
  the queue their `dagster-celery/queue` tag names (see `routing.step_tags`).
* `k8s`: `dagster_k8s.k8s_job_executor`, one Kubernetes job per step, configured by the Helm
  chart's K8sRunLauncher and each step's `dagster-k8s/config` tag.

A bad or incomplete setting never stops the code location from loading: the multiprocess
executor is used instead, and every run's log opens with an engine event that says what was
wrong and what was used (also logged when the code location loads).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from dagster._core.definitions.executor_definition import (
    ExecutorDefinition,
    multi_or_in_process_executor,
)
from dagster._core.events import DagsterEvent, EngineEventData
from dagster._core.execution.context.system import PlanOrchestrationContext
from dagster._core.execution.plan.plan import ExecutionPlan
from dagster._core.executor.base import Executor
from dagster._core.executor.init import InitExecutorContext

from piano_assets.deploy.config import deploy_settings, logger, problems
from piano_assets.scale_settings import ExecutorKind
from piano_assets.settings import PianoAssetsSettings

# Celery settings shared by the executor (which submits) and the workers (which run steps).
CELERY_TRANSPORT_RETRIES = {"max_retries": 3, "interval_start": 0, "interval_step": 0.2}


def celery_config_source(settings: PianoAssetsSettings) -> dict[str, Any]:
    """Celery app settings for both sides.

    `task_acks_late`: a step's message is acknowledged only when the step ends, so a worker that
    dies whole (kill -9 of the node) gives its step back to the queue after the visibility
    timeout, to be run by another worker. A step whose worker *process* dies is reported failed
    (WorkerLostError), its run fails, and it is re-run by re-executing the run.
    """
    return {
        "worker_prefetch_multiplier": 1,
        "task_acks_late": True,
        "task_default_priority": 5,
        # Steps without a queue tag (catalogs, metadata, maps, readiness: CPU work) go to the
        # audio workers; under Celery's own default ("dagster") no worker would ever take them.
        "task_default_queue": settings.celery_audio_queue,
        "broker_transport_options": {
            **CELERY_TRANSPORT_RETRIES,
            "interval_max": 0.5,
            "visibility_timeout": settings.celery_visibility_timeout_s,
        },
        "result_backend_transport_options": {
            "visibility_timeout": settings.celery_visibility_timeout_s
        },
    }


def celery_executor_config(settings: PianoAssetsSettings) -> dict[str, Any]:
    broker = settings.celery_broker_url
    if not broker:
        raise ValueError("PIANO_ASSETS_EXECUTOR=celery needs PIANO_ASSETS_CELERY_BROKER_URL")
    return {
        "broker": broker,
        "backend": settings.celery_backend_url or broker,
        "config_source": celery_config_source(settings),
    }


class _ReportingExecutor(Executor):
    """Mixed in before an executor class: open each run's log with the setting problems."""

    setting_problems: tuple[str, ...] = ()

    def execute(
        self, plan_context: PlanOrchestrationContext, execution_plan: ExecutionPlan
    ) -> Iterator[DagsterEvent]:
        for problem in self.setting_problems:
            yield DagsterEvent.engine_event(
                plan_context, f"piano_assets settings: {problem}", EngineEventData()
            )
        yield from super().execute(plan_context, execution_plan)  # type: ignore[safe-super]


def reporting(executor_def: ExecutorDefinition, messages: list[str]) -> ExecutorDefinition:
    """`executor_def`, whose executors first log `messages` in every run (none: unchanged)."""
    if not messages:
        return executor_def
    inner_fn = executor_def.executor_creation_fn
    if inner_fn is None:
        return executor_def

    def create(init_context: InitExecutorContext) -> Executor:
        executor = inner_fn(init_context)
        reporting_class = type(
            f"Reporting{type(executor).__name__}",
            (_ReportingExecutor, type(executor)),
            {"setting_problems": tuple(messages)},
        )
        executor.__class__ = reporting_class
        return executor

    return ExecutorDefinition(
        name=executor_def.name,
        # Dagster passes an IDefinitionConfigSchema through unchanged (that keeps a configured
        # executor's config mapping) but annotates only the user-facing schema types.
        config_schema=executor_def.config_schema,  # type: ignore[arg-type]
        requirements=executor_def.get_requirements,
        executor_creation_fn=create,
        description=executor_def.description,
    )


def _multiprocess(settings: PianoAssetsSettings) -> ExecutorDefinition:
    if settings.max_concurrent_steps is None:
        return multi_or_in_process_executor
    return multi_or_in_process_executor.configured(
        {"multiprocess": {"max_concurrent": settings.max_concurrent_steps}}
    )


def _celery(settings: PianoAssetsSettings) -> ExecutorDefinition:
    from dagster_celery import celery_executor

    return celery_executor.configured(celery_executor_config(settings))


def _k8s(settings: PianoAssetsSettings) -> ExecutorDefinition:
    from dagster_k8s import k8s_job_executor

    config: dict[str, Any] = {}
    if settings.max_concurrent_steps is not None:
        config["max_concurrent"] = settings.max_concurrent_steps
    return k8s_job_executor.configured(config) if config else k8s_job_executor


def executor_from_settings(settings: PianoAssetsSettings | None = None) -> ExecutorDefinition:
    """The configured executor; the multiprocess one, reporting why, if it cannot be built."""
    resolved = settings if settings is not None else deploy_settings()
    messages = problems(resolved)
    builders = {
        ExecutorKind.MULTIPROCESS: _multiprocess,
        ExecutorKind.CELERY: _celery,
        ExecutorKind.K8S: _k8s,
    }
    try:
        chosen = builders[resolved.executor](resolved)
    except Exception as err:  # a missing package or setting must not stop the load
        messages.append(
            f"the {resolved.executor.value} executor could not be set up ({err}); "
            "running steps with the multiprocess executor instead"
        )
        chosen = _multiprocess(resolved)
    for message in messages:
        logger.warning("piano_assets settings: %s", message)
    return reporting(chosen, messages)
