"""The catalog sensors: stopped by default; they register the keys a grown catalog adds, once,
and skip (with the reason) when there is no catalog, nothing new, or an unreadable file."""

from pathlib import Path

import dagster as dg
import pytest

from piano_assets.competition.catalog import RecordingSpec
from piano_assets.competition.partitions import CHOPIN2021_PARTITIONS_NAME
from piano_assets.competition.paths import Chopin2021Paths
from piano_assets.competition.records import write_jsonl
from piano_assets.competition.results import Placement, Round
from piano_assets.layout import ModelRepoLayout
from piano_assets.maestro import stages
from piano_assets.maestro.partitions import maestro_recordings_partitions
from piano_assets.readiness.sensors import (
    chopin2021_catalog_sensor,
    maestro_catalog_sensor,
    readiness_sensors,
)
from piano_assets.resources import ModelRepoResource
from piano_assets_tests.test_readiness_criteria import MAESTRO_CSV_NAME, MAESTRO_ROWS


def _spec(key: str) -> RecordingSpec:
    return RecordingSpec(
        recording_id=key,
        video_id=f"vid-{key}",
        title=f"Performer {key} – Stage I",
        source_url=f"file:///videos/{key}.wav",
        performer=f"Performer {key}",
        country="Poland",
        round=Round.STAGE_I,
        placement=Placement.STAGE_I,
        ordinal=8,
        match_reason="test",
    )


def _tick(
    sensor: dg.SensorDefinition, instance: dg.DagsterInstance, root: Path
) -> dg.SensorResult | dg.SkipReason:
    context = dg.build_sensor_context(
        instance=instance, resources={"model_repo": ModelRepoResource(root=str(root))}
    )
    result = sensor(context)
    assert isinstance(result, dg.SensorResult | dg.SkipReason), result
    return result


def _requested(result: dg.SensorResult | dg.SkipReason, instance: dg.DagsterInstance) -> list[str]:
    """The keys a tick asks to add; applied to the instance as the daemon would."""
    assert isinstance(result, dg.SensorResult), result
    (request,) = result.dynamic_partitions_requests or []
    assert isinstance(request, dg.AddDynamicPartitionsRequest)
    instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
    return list(request.partition_keys)


def test_both_sensors_are_stopped_by_default() -> None:
    assert {s.name for s in readiness_sensors} == {
        "chopin2021_new_recordings",
        "maestro_new_recordings",
    }
    assert all(s.default_status == dg.DefaultSensorStatus.STOPPED for s in readiness_sensors)


def test_chopin_sensor_registers_what_a_grown_catalog_adds(tmp_path: Path) -> None:
    instance = dg.DagsterInstance.ephemeral()
    catalog = Chopin2021Paths(ModelRepoLayout(tmp_path)).catalog

    skipped = _tick(chopin2021_catalog_sensor, instance, tmp_path)
    assert isinstance(skipped, dg.SkipReason) and "no catalog yet" in (skipped.skip_message or "")

    catalog.parent.mkdir(parents=True)
    write_jsonl(catalog, [_spec("s1-a-01"), _spec("s1-b-01")])
    first = _requested(_tick(chopin2021_catalog_sensor, instance, tmp_path), instance)
    assert first == ["s1-a-01", "s1-b-01"]

    unchanged = _tick(chopin2021_catalog_sensor, instance, tmp_path)
    assert isinstance(unchanged, dg.SkipReason) and "unchanged" in (unchanged.skip_message or "")

    # The catalog grows by one recording: only that one is requested.
    write_jsonl(catalog, [_spec("s1-a-01"), _spec("s1-b-01"), _spec("s2-a-01")])
    assert _requested(_tick(chopin2021_catalog_sensor, instance, tmp_path), instance) == ["s2-a-01"]
    assert sorted(instance.get_dynamic_partitions(CHOPIN2021_PARTITIONS_NAME)) == [
        "s1-a-01",
        "s1-b-01",
        "s2-a-01",
    ]


def test_an_unreadable_catalog_skips_the_tick_with_the_reason(tmp_path: Path) -> None:
    instance = dg.DagsterInstance.ephemeral()
    catalog = Chopin2021Paths(ModelRepoLayout(tmp_path)).catalog
    catalog.parent.mkdir(parents=True)
    catalog.write_text('{"recording_id": "half a record"\n', encoding="utf-8")

    result = _tick(chopin2021_catalog_sensor, instance, tmp_path)

    assert isinstance(result, dg.SkipReason)
    assert "catalog unreadable" in (result.skip_message or "")
    assert str(catalog) in (result.skip_message or "")
    assert instance.get_dynamic_partitions(CHOPIN2021_PARTITIONS_NAME) == []


@pytest.mark.parametrize("rows", [2, 3])
def test_maestro_sensor_registers_the_recordings_table(tmp_path: Path, rows: int) -> None:
    instance = dg.DagsterInstance.ephemeral()
    paths = stages.MaestroPaths(ModelRepoLayout(tmp_path))
    paths.cache.mkdir(parents=True)
    lines = MAESTRO_ROWS.splitlines()
    (paths.cache / MAESTRO_CSV_NAME).write_text("\n".join(lines[: rows + 1]) + "\n", "utf-8")
    frame, source = stages.read_source_metadata(paths, None)
    stages.write_recordings(paths, frame, source, [])

    keys = _requested(_tick(maestro_catalog_sensor, instance, tmp_path), instance)

    assert keys == frame["recording_id"].to_list() and len(keys) == rows
    assert sorted(instance.get_dynamic_partitions(maestro_recordings_partitions.name or "")) == (
        sorted(keys)
    )
