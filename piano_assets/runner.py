"""Materialize the whole asset graph in stages, as a backfill would, and summarize it.

Stages follow the partitions: first every unpartitioned asset upstream of the recordings
(catalogs register the partitions), then each per-recording asset over every registered
partition in chunks (one run per chunk, like `BackfillPolicy.multi_run`), then the
unpartitioned assets downstream (metadata, maps, readiness). Runs go to the given instance, so
`dagster dev` on the same DAGSTER_HOME shows them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import dagster as dg
from dagster._core.definitions.partitions.definition import DynamicPartitionsDefinition

from piano_assets.deploy.launcher import run_worker_tags
from piano_assets.lib.recording_batch import PERMANENT_FAILURES

RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"


@dataclass
class CheckOutcome:
    check: str
    asset: str
    passed: bool
    severity: str
    description: str


@dataclass
class StageOutcome:
    name: str
    run_ids: list[str] = field(default_factory=list)
    succeeded: bool = True
    materialized: dict[str, int] = field(default_factory=dict)  # asset -> events
    failures: list[str] = field(default_factory=list)
    # Recordings the source will never give (removed, private videos): reported, not failures.
    unavailable: dict[str, str] = field(default_factory=dict)
    checks: list[CheckOutcome] = field(default_factory=list)
    paths: dict[str, str] = field(default_factory=dict)  # "asset: label" -> path


@dataclass
class RunAllOutcome:
    stages: list[StageOutcome]

    @property
    def succeeded(self) -> bool:
        return all(stage.succeeded for stage in self.stages)

    @property
    def checks(self) -> list[CheckOutcome]:
        latest: dict[tuple[str, str], CheckOutcome] = {}
        for stage in self.stages:
            for check in stage.checks:
                latest[(check.asset, check.check)] = check
        return list(latest.values())


READINESS_GROUP = "readiness"


def plan_stages(
    defs: dg.Definitions,
) -> tuple[list[dg.AssetKey], dict[str, list[dg.AssetKey]], list[dg.AssetKey], list[dg.AssetKey]]:
    """Split materializable assets into upstream, per-partitions-def, downstream and final stages.

    The final stage (group `readiness`) runs alone, after every other check has reported.
    """
    graph = defs.resolve_asset_graph()
    materializable = sorted(graph.materializable_asset_keys)
    partitioned: dict[str, list[dg.AssetKey]] = {}
    for key in materializable:
        partitions_def = graph.get(key).partitions_def
        if partitions_def is None:
            continue
        if not isinstance(partitions_def, DynamicPartitionsDefinition) or not partitions_def.name:
            raise TypeError(f"{key.to_user_string()}: only named dynamic partitions are staged")
        partitioned.setdefault(partitions_def.name, []).append(key)
    partitioned_keys = {key for keys in partitioned.values() for key in keys}

    def ancestors(key: dg.AssetKey) -> set[dg.AssetKey]:
        seen: set[dg.AssetKey] = set()
        todo = list(graph.get(key).parent_keys)
        while todo:
            parent = todo.pop()
            if parent not in seen and graph.has(parent):
                seen.add(parent)
                todo.extend(graph.get(parent).parent_keys)
        return seen

    downstream_of_partitioned = {
        key
        for key in materializable
        if key not in partitioned_keys and ancestors(key) & partitioned_keys
    }
    upstream = [
        key
        for key in materializable
        if key not in partitioned_keys and key not in downstream_of_partitioned
    ]
    final = [key for key in materializable if graph.get(key).group_name == READINESS_GROUP]
    upstream = [key for key in upstream if key not in final]
    downstream = [
        key for key in materializable if key in downstream_of_partitioned and key not in final
    ]
    return upstream, partitioned, downstream, final


def _run(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    keys: Sequence[dg.AssetKey],
    outcome: StageOutcome,
    tags: dict[str, str] | None = None,
) -> None:
    job = defs.resolve_implicit_job_def_def_for_assets(keys)
    if job is None:
        raise RuntimeError(f"no job can run {[key.to_user_string() for key in keys]}")
    # This process is the run worker: the tag lets run monitoring mark the run failed if killed.
    run_tags = {**run_worker_tags(), **(tags or {})}
    result = job.execute_in_process(
        instance=instance, asset_selection=list(keys), tags=run_tags, raise_on_error=False
    )
    outcome.run_ids.append(result.run_id)
    only_unavailable = True
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data:
            error = event.step_failure_data.error
            user = event.step_failure_data.user_failure_data
            unavailable = _only_permanently_unavailable(user)
            if unavailable is not None:
                outcome.unavailable.update(unavailable)
                continue
            only_unavailable = False
            text = (
                user.description if user and user.description else (error.message if error else "")
            )
            outcome.failures.append(f"{event.step_key}: {text.strip()}")
        elif event.is_step_materialization:
            materialization = event.step_materialization_data.materialization
            label = materialization.asset_key.to_user_string()
            outcome.materialized[label] = outcome.materialized.get(label, 0) + 1
            for name, value in materialization.metadata.items():
                if isinstance(value, dg.PathMetadataValue) and not materialization.partition:
                    outcome.paths[f"{label}: {name}"] = value.path
    outcome.succeeded &= result.success or (only_unavailable and bool(outcome.unavailable))
    for evaluation in result.get_asset_check_evaluations():
        outcome.checks.append(
            CheckOutcome(
                check=evaluation.check_name,
                asset=evaluation.asset_key.to_user_string(),
                passed=evaluation.passed,
                severity=evaluation.severity.value,
                description=evaluation.description or "",
            )
        )


def _only_permanently_unavailable(user: object) -> dict[str, str] | None:
    """The failed recordings of a step, when every one is permanently unavailable at its
    source (a removed or private video); None when any failed for another reason."""
    metadata = getattr(user, "metadata", None) or {}
    failed = metadata.get("failed_recordings")
    permanent = metadata.get(PERMANENT_FAILURES)
    if failed is None or permanent is None:
        return None
    failed_map = dict(failed.value)
    if not failed_map or set(failed_map) != set(permanent.value):
        return None
    return {str(key): str(message) for key, message in failed_map.items()}


def _chunks(items: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def materialize_everything(
    defs: dg.Definitions, instance: dg.DagsterInstance, partitions_per_run: int = 50
) -> RunAllOutcome:
    upstream, partitioned, downstream, final = plan_stages(defs)
    stages: list[StageOutcome] = []

    first = StageOutcome("unpartitioned upstream (reorganize, results, catalogs)")
    _run(defs, instance, upstream, first)
    stages.append(first)

    for partitions_name, keys in sorted(partitioned.items()):
        stage = StageOutcome(f"per-recording assets of '{partitions_name}'")
        registered = list(instance.get_dynamic_partitions(partitions_name))
        if not registered:
            stage.succeeded = False
            stage.failures.append(f"no partitions registered for {partitions_name}")
        for chunk in _chunks(registered, partitions_per_run):
            _run(defs, instance, keys, stage, {RANGE_START: chunk[0], RANGE_END: chunk[-1]})
        stages.append(stage)

    last = StageOutcome("unpartitioned downstream (metadata, maps, pairs)")
    _run(defs, instance, downstream, last)
    stages.append(last)

    if final:
        readiness = StageOutcome("readiness (the six gating criteria)")
        _run(defs, instance, final, readiness)
        stages.append(readiness)
    return RunAllOutcome(stages)
