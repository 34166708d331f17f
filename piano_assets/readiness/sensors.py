"""Sensors that register new recording partitions when a catalog grows (stopped by default).

Each re-reads the catalog file its tier's catalog asset last wrote (cheap: no network, no
audio) and calls `add_dynamic_partitions` for the keys not yet registered, through
`SensorResult(dynamic_partitions_requests=[partitions_def.build_add_request(keys)])`:

* `chopin2021_new_recordings`: `.piano_assets/competition/chopin2021/catalog.jsonl`
  (written by `chopin2021_video_catalog`) → partitions `chopin2021_recordings`.
* `maestro_new_recordings`: the recordings table of `maestro_recordings` → `maestro_recordings`.

They never remove a partition (a recording that left a catalog keeps its data and history).
Both are STOPPED by default; turn them on in the UI (Automation → Sensors) when the catalog
assets are re-materialized on a schedule, or when eager automation is on (see `assets.py`).
A catalog that cannot be read skips the tick with the reason, it does not error the sensor.
"""

from collections.abc import Callable
from pathlib import Path

import dagster as dg

from piano_assets.competition.catalog import read_catalog
from piano_assets.competition.partitions import chopin2021_recordings
from piano_assets.competition.paths import Chopin2021Paths
from piano_assets.maestro.partitions import maestro_recordings_partitions
from piano_assets.maestro.stages import MaestroPaths, load_recordings
from piano_assets.resources import ModelRepoResource


def new_partition_keys(
    instance: dg.DagsterInstance, partitions_def: dg.DynamicPartitionsDefinition, keys: list[str]
) -> list[str]:
    registered = set(instance.get_dynamic_partitions(partitions_def.name or ""))
    return [key for key in dict.fromkeys(keys) if key not in registered]


def _catalog_sensor(
    name: str,
    partitions_def: dg.DynamicPartitionsDefinition,
    read_keys: Callable[[ModelRepoResource], list[str]],
    catalog_label: Callable[[ModelRepoResource], Path],
) -> dg.SensorDefinition:
    @dg.sensor(
        name=name,
        minimum_interval_seconds=300,
        default_status=dg.DefaultSensorStatus.STOPPED,
        description=f"Registers new {partitions_def.name} partitions when the catalog grows.",
    )
    def _sensor(context: dg.SensorEvaluationContext, model_repo: ModelRepoResource):
        if not catalog_label(model_repo).exists():
            return dg.SkipReason(f"no catalog yet at {catalog_label(model_repo)}")
        try:
            keys = read_keys(model_repo)
        except (ValueError, OSError) as err:  # pydantic/polars errors are ValueErrors
            return dg.SkipReason(f"catalog unreadable: {err}")
        new = new_partition_keys(context.instance, partitions_def, keys)
        if not new:
            return dg.SkipReason("catalog unchanged: no new recordings")
        context.log.info(f"registering {len(new)} new {partitions_def.name} partitions")
        return dg.SensorResult(dynamic_partitions_requests=[partitions_def.build_add_request(new)])

    return _sensor


def _chopin_catalog(model_repo: ModelRepoResource) -> Path:
    return Chopin2021Paths(model_repo.layout()).catalog


def _maestro_table(model_repo: ModelRepoResource) -> Path:
    return MaestroPaths(model_repo.layout()).recordings_table


chopin2021_catalog_sensor = _catalog_sensor(
    "chopin2021_new_recordings",
    chopin2021_recordings,
    lambda repo: [spec.recording_id for spec in read_catalog(_chopin_catalog(repo))],
    _chopin_catalog,
)
maestro_catalog_sensor = _catalog_sensor(
    "maestro_new_recordings",
    maestro_recordings_partitions,
    lambda repo: load_recordings(MaestroPaths(repo.layout()))["recording_id"].to_list(),
    _maestro_table,
)

readiness_sensors = [chopin2021_catalog_sensor, maestro_catalog_sensor]
