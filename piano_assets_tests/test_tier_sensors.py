"""The tiers' catalog sensors (from the tier factory): stopped by default; they register the
keys a grown catalog adds, once; they request the catalog asset, once per growth, when its
source lists unseen recordings; and they skip (with the reason) when there is no catalog,
nothing new, or an unreadable file."""

from pathlib import Path
from xml.sax.saxutils import escape

import dagster as dg
import pytest

from piano_assets.chopin2021.catalog import LedgerItem, RecordingSpec
from piano_assets.chopin2021.defs import tier as chopin2021_tier
from piano_assets.chopin2021.matching import MatchStatus
from piano_assets.chopin2021.paths import Chopin2021Paths
from piano_assets.chopin2021.results import Placement, Round
from piano_assets.layout import ModelRepoLayout
from piano_assets.lib.jsonl import write_jsonl
from piano_assets.maestro import recordings
from piano_assets.maestro.defs import tier as maestro_tier
from piano_assets.maestro.paths import MaestroPaths
from piano_assets.resources import ModelRepoResource, SourceUrlsResource, YtDlpResource
from piano_assets_tests.test_readiness_criteria import MAESTRO_CSV_NAME, MAESTRO_ROWS

CHOPIN2021_PARTITIONS_NAME = "chopin2021_recordings"
chopin2021_catalog_sensor = chopin2021_tier.sensor
maestro_catalog_sensor = maestro_tier.sensor
maestro_recordings_partitions = maestro_tier.partitions_def
readiness_sensors = [chopin2021_catalog_sensor, maestro_catalog_sensor]


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
    sensor: dg.SensorDefinition,
    instance: dg.DagsterInstance,
    root: Path,
    channel_url: str = "file:///nonexistent/channel.rss",
) -> dg.SensorResult | dg.SkipReason:
    context = dg.build_sensor_context(
        instance=instance,
        resources={
            "model_repo": ModelRepoResource(root=str(root)),
            "source_urls": SourceUrlsResource(chopin2021_channel_url=channel_url),
            "ytdlp": YtDlpResource(allow_file_urls=True, retries=0),
        },
    )
    result = sensor(context)
    assert isinstance(result, dg.SensorResult | dg.SkipReason), result
    return result


def _feed(path: Path, video_ids: list[str]) -> str:
    """A local stand-in for the channel listing (yt-dlp's generic extractor lists RSS)."""
    items = "".join(
        f'<item><title>Video {escape(v)}</title><guid isPermaLink="false">{escape(v)}</guid>'
        f'<enclosure url="file:///videos/{escape(v)}.wav" type="audio/wav"/></item>'
        for v in video_ids
    )
    path.write_text(
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>c</title>{items}</channel></rss>',
        encoding="utf-8",
    )
    return path.as_uri()


def _requested(result: dg.SensorResult | dg.SkipReason, instance: dg.DagsterInstance) -> list[str]:
    """The keys a tick asks to add; applied to the instance as the daemon would."""
    assert isinstance(result, dg.SensorResult), result
    (request,) = result.dynamic_partitions_requests or []
    assert not result.run_requests, result.run_requests
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
    paths = MaestroPaths(ModelRepoLayout(tmp_path))
    paths.cache.mkdir(parents=True)
    lines = MAESTRO_ROWS.splitlines()
    (paths.cache / MAESTRO_CSV_NAME).write_text("\n".join(lines[: rows + 1]) + "\n", "utf-8")
    frame, source = recordings.read_source_metadata(paths, None)
    recordings.write_recordings(paths, frame, source)

    keys = _requested(_tick(maestro_catalog_sensor, instance, tmp_path), instance)

    assert keys == frame["recording_id"].to_list() and len(keys) == rows
    assert sorted(instance.get_dynamic_partitions(maestro_recordings_partitions.name or "")) == (
        sorted(keys)
    )


def _write_chopin_state(root: Path, keys: list[str], set_aside: list[str]) -> Path:
    paths = Chopin2021Paths(ModelRepoLayout(root))
    paths.catalog.parent.mkdir(parents=True, exist_ok=True)
    paths.video_ledger.parent.mkdir(parents=True, exist_ok=True)
    write_jsonl(paths.catalog, [_spec(key) for key in keys])
    ledger = [
        LedgerItem(
            video_id=video,
            title=f"Video {video}",
            source_url=f"file:///videos/{video}.wav",
            status=MatchStatus.SESSION,
            reason="a session video",
        )
        for video in set_aside
    ]
    write_jsonl(paths.video_ledger, ledger)
    return paths.catalog


def test_chopin_sensor_requests_one_catalog_run_when_the_channel_lists_new_videos(
    tmp_path: Path,
) -> None:
    instance = dg.DagsterInstance.ephemeral()
    _write_chopin_state(tmp_path, ["s1-a-01"], set_aside=["session-1"])
    instance.add_dynamic_partitions(CHOPIN2021_PARTITIONS_NAME, ["s1-a-01"])
    channel = tmp_path / "channel.rss"

    # Everything listed is in the catalog or its ledger: nothing to do.
    url = _feed(channel, ["vid-s1-a-01", "session-1"])
    quiet = _tick(chopin2021_catalog_sensor, instance, tmp_path, url)
    assert isinstance(quiet, dg.SkipReason), quiet
    assert "source unchanged" in (quiet.skip_message or "")

    # Two new uploads: one run of the catalog asset, keyed by what is new.
    _feed(channel, ["vid-s1-a-01", "session-1", "vid-new-1", "vid-new-2"])
    grown = _tick(chopin2021_catalog_sensor, instance, tmp_path, url)
    assert isinstance(grown, dg.SensorResult), grown
    (request,) = grown.run_requests or []
    assert request.asset_selection == [dg.AssetKey("chopin2021_video_catalog")]
    assert not grown.dynamic_partitions_requests
    again = _tick(chopin2021_catalog_sensor, instance, tmp_path, url)
    assert isinstance(again, dg.SensorResult)
    assert again.run_requests[0].run_key == request.run_key  # the daemon launches it once

    # The catalog run took them in (one recording, one set aside): quiet again.
    _write_chopin_state(tmp_path, ["s1-a-01", "new-1"], set_aside=["session-1", "vid-new-2"])
    registered = _requested(_tick(chopin2021_catalog_sensor, instance, tmp_path, url), instance)
    assert registered == ["new-1"]


def test_chopin_sensor_says_why_when_the_channel_cannot_be_listed(tmp_path: Path) -> None:
    instance = dg.DagsterInstance.ephemeral()
    _write_chopin_state(tmp_path, ["s1-a-01"], set_aside=[])
    instance.add_dynamic_partitions(CHOPIN2021_PARTITIONS_NAME, ["s1-a-01"])

    result = _tick(chopin2021_catalog_sensor, instance, tmp_path, (tmp_path / "gone.rss").as_uri())

    assert isinstance(result, dg.SkipReason), result
    assert "source not read" in (result.skip_message or "")


def test_maestro_sensor_requests_maestro_recordings_when_the_metadata_grows(
    tmp_path: Path,
) -> None:
    instance = dg.DagsterInstance.ephemeral()
    paths = MaestroPaths(ModelRepoLayout(tmp_path))
    paths.cache.mkdir(parents=True)
    lines = MAESTRO_ROWS.splitlines()
    csv = paths.cache / MAESTRO_CSV_NAME
    csv.write_text("\n".join(lines[:3]) + "\n", "utf-8")
    frame, source = recordings.read_source_metadata(paths, None)
    recordings.write_recordings(paths, frame, source)
    _requested(_tick(maestro_catalog_sensor, instance, tmp_path), instance)

    csv.write_text("\n".join(lines[:4]) + "\n", "utf-8")  # a new release adds a recording
    grown = _tick(maestro_catalog_sensor, instance, tmp_path)

    assert isinstance(grown, dg.SensorResult), grown
    (request,) = grown.run_requests or []
    assert request.asset_selection == [dg.AssetKey("maestro_recordings")]
    assert request.run_key and request.run_key.startswith("maestro_recordings-grew-")
