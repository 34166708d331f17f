"""The tier factory over a small test tier (generated audio): one folder and one line give a tier
its partitions, two per-recording steps, completeness check and sensor; bad recordings fail
alone, named, ledgered, leaving nothing partial; readiness shows the tier without being edited."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import dagster as dg
import numpy as np
import pytest
from dagster._core.storage.partition_status_cache import get_and_update_asset_status_cache_value

from piano_assets.definitions import defs as platform_defs
from piano_assets.layout import ModelRepoLayout
from piano_assets.lib.recording_batch import read_failure_ledger
from piano_assets.lib.recording_steps import finished_audio
from piano_assets.lib.tier import AudioRecord
from piano_assets.readiness.assets import readiness_defs
from piano_assets.readiness.criteria import evaluate_readiness, render_report
from piano_assets.resources import (
    ModelRepoResource,
    MuqEmbedderResource,
    SourceUrlsResource,
    YtDlpResource,
)
from piano_assets.runner import RANGE_END, RANGE_START
from piano_assets.sample.synth import piano_notes, wav_bytes
from piano_assets_tests.toy_tier.adapter import ADAPTER, source_listing
from piano_assets_tests.toy_tier.defs import GATE
from piano_assets_tests.toy_tier.defs import defs as toy_defs

SECONDS = 32.0  # one full 30 s segment; the 2 s tail is dropped (shorter than 5 s)


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _truncated_wav(path: Path, declared_s: float, present_s: float, rate: int = 24_000) -> Path:
    """A WAV whose header promises `declared_s` but which holds only `present_s` of samples."""
    samples = (piano_notes(present_s, rate, seed=9) * 32767).astype("<i2").tobytes()
    declared_bytes = round(declared_s * rate) * 2
    header = b"RIFF" + struct.pack("<I", 36 + declared_bytes) + b"WAVE"
    header += b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
    header += b"data" + struct.pack("<I", declared_bytes)
    return _write(path, header + samples)


@pytest.fixture
def toy_world(tmp_path: Path) -> tuple[ModelRepoLayout, dict[str, str]]:
    """A model repo whose toy source lists good and bad recordings, with what each must give."""
    root = tmp_path / "repo"
    root.mkdir()
    layout = ModelRepoLayout(root)
    files = tmp_path / "files"
    good = piano_notes(SECONDS, 44_100, seed=1)
    listing = {
        "good-a": {"file": str(_write(files / "a.wav", wav_bytes(good, 44_100, channels=2)))},
        "good-b": {
            "file": str(_write(files / "b.wav", wav_bytes(piano_notes(SECONDS, seed=2), 24_000))),
            "declared_seconds": SECONDS + 0.5,  # within the tolerance
        },
        "random-bytes": {
            "file": str(_write(files / "r.wav", np.random.default_rng(0).bytes(50_000)))
        },
        "html-page": {
            "file": str(
                _write(files / "h.m4a", b"<!DOCTYPE html><html><body>Sign in</body></html>")
            )
        },
        "silent": {"file": str(_write(files / "s.wav", wav_bytes(np.zeros(24_000 * 40), 24_000)))},
        "truncated": {"file": str(_truncated_wav(files / "t.wav", 35.0, 11.7))},
        "one-second": {"file": str(_write(files / "o.wav", wav_bytes(piano_notes(1.0), 24_000)))},
        "short-by-metadata": {
            "file": str(_write(files / "m.wav", wav_bytes(piano_notes(SECONDS, seed=3), 24_000))),
            "declared_seconds": 300.0,
        },
    }
    _write(source_listing(layout), json.dumps(listing).encode())
    expected = {
        "random-bytes": "not an audio file",
        "html-page": "web page (HTML)",
        "silent": "silent",
        "truncated": "container header says 35.0 s",
        "one-second": "at least 5 s needed",
        "short-by-metadata": "toy catalog says 300.0 s",
    }
    return layout, expected


def _resources(layout: ModelRepoLayout) -> dict[str, object]:
    return {
        "model_repo": ModelRepoResource(root=str(layout.root), dry_run=False),
        "muq": MuqEmbedderResource(mode="random", random_size="tiny", device="cpu"),
        "source_urls": SourceUrlsResource(),
        "ytdlp": YtDlpResource(),
    }


def _assets_and_checks(defs: dg.Definitions) -> list[object]:
    return [*(defs.assets or []), *(defs.asset_checks or [])]


def test_a_new_tier_is_one_folder_and_one_line() -> None:
    merged = dg.Definitions.merge(platform_defs, toy_defs)  # the one line
    dg.Definitions.validate_loadable(merged)
    graph = merged.resolve_asset_graph()
    for name in ("toy_audio", "toy_segments", "toy_muq_embeddings"):
        node = graph.get(dg.AssetKey(name))
        assert isinstance(node.partitions_def, dg.DynamicPartitionsDefinition)
        assert node.partitions_def.name == "toy_recordings"
        assert node.backfill_policy == dg.BackfillPolicy.multi_run(
            node.backfill_policy.max_partitions_per_run
        )  # type: ignore[union-attr]
        assert node.group_name == "toy"
    assert graph.get(dg.AssetKey("toy_muq_embeddings")).parent_keys == {dg.AssetKey("toy_segments")}
    assert graph.get(dg.AssetKey("toy_audio")).parent_keys == {dg.AssetKey("toy_catalog")}
    checks = {key.name for key in graph.get(dg.AssetKey("toy_summary")).check_keys}
    assert checks == {"every_recording_has_audio_segments_embeddings"}
    assert "toy_new_recordings" in {sensor.name for sensor in merged.sensors or []}
    # The same names in every tier.
    for tier in ("chopin2021", "maestro"):
        node = graph.get(dg.AssetKey(f"{tier}_segments"))
        assert node.partitions_def.name == f"{tier}_recordings"  # type: ignore[union-attr]


def test_bad_recordings_fail_alone_named_and_leave_nothing_partial(
    toy_world: tuple[ModelRepoLayout, dict[str, str]],
) -> None:
    layout, expected = toy_world
    instance = dg.DagsterInstance.ephemeral()
    everything = _assets_and_checks(toy_defs)
    resources = _resources(layout)
    assert dg.materialize(
        everything, instance=instance, resources=resources, selection=["toy_catalog"]
    ).success
    keys = list(instance.get_dynamic_partitions("toy_recordings"))  # registration order
    assert len(keys) == 8

    run = dg.materialize(
        everything,
        instance=instance,
        resources=resources,
        selection=["toy_audio", "toy_segments", "toy_muq_embeddings"],
        tags={RANGE_START: keys[0], RANGE_END: keys[-1]},
        raise_on_error=False,
    )
    assert not run.success
    good = {"good-a", "good-b"}
    for asset in ("toy_audio", "toy_segments", "toy_muq_embeddings"):
        assert instance.get_materialized_partitions(dg.AssetKey(asset)) == good, asset
        status = get_and_update_asset_status_cache_value(
            instance, dg.AssetKey(asset), ADAPTER_PARTITIONS
        )
        assert status is not None
        failed = status.deserialize_failed_partition_subsets(ADAPTER_PARTITIONS)
        assert set(failed.get_partition_keys()) == set(expected), asset

    # One message names every failed recording and its cause, in the user's terms.
    failure = next(e for e in run.all_events if e.is_step_failure)
    description = failure.step_failure_data.user_failure_data.description
    assert "6 of 8 recordings failed" in description
    for key, cause in expected.items():
        line = next(line for line in description.splitlines() if line.strip().startswith(key))
        assert cause in line, (key, line)
    ledger = {f.recording_id: f for f in read_failure_ledger(layout.failure_ledgers, "toy")}
    assert set(ledger) == set(expected)
    assert all(f.stage == "toy_audio" for f in ledger.values())

    # Nothing partial: no audio or record for a failed recording, no scratch left.
    paths = ADAPTER.recording_paths(layout)
    for key in expected:
        assert not paths.audio(key).exists() and not paths.audio_record(key).exists(), key
    assert not any(paths.scratch_dir.iterdir()) if paths.scratch_dir.exists() else True

    # What is finished is traceable: source URL and hash, declared durations, converter.
    record = finished_audio(paths, "good-b")
    assert isinstance(record, AudioRecord)
    assert record.source_url.startswith("file://") and record.source_sha256
    assert set(record.declared_seconds) == {"toy catalog", "container header"}
    assert record.converter["sample_rate"] == "24000" and record.converter["ffmpeg"]
    assert record.audio_file == "model/data/toy_cache/audio/good-b.wav"

    # The completeness check names the gap; the summary's own run is blocked by it.
    summary = dg.materialize(
        everything,
        instance=instance,
        resources=resources,
        selection=["toy_summary"],
        raise_on_error=False,
    )
    check = next(iter(summary.get_asset_check_evaluations()))
    assert check.check_name == "every_recording_has_audio_segments_embeddings"
    assert not check.passed
    assert "6 of 8 recordings incomplete" in (check.description or "")
    assert "RANDOM-WEIGHT" in (check.description or "")


ADAPTER_PARTITIONS = dg.DynamicPartitionsDefinition(name="toy_recordings")


def test_steps_run_as_selected_and_finished_work_is_reused(
    toy_world: tuple[ModelRepoLayout, dict[str, str]],
) -> None:
    layout, _ = toy_world
    instance = dg.DagsterInstance.ephemeral()
    everything = _assets_and_checks(toy_defs)
    resources = _resources(layout)
    dg.materialize(everything, instance=instance, resources=resources, selection=["toy_catalog"])

    audio_only = dg.materialize(
        everything,
        instance=instance,
        resources=resources,
        partition_key="good-a",
        selection=["toy_audio"],
    )
    assert audio_only.success
    assert instance.get_materialized_partitions(dg.AssetKey("toy_segments")) == set()

    no_segments = dg.materialize(
        everything,
        instance=instance,
        resources=resources,
        partition_key="good-a",
        selection=["toy_muq_embeddings"],
        raise_on_error=False,
    )
    assert not no_segments.success
    failure = next(e for e in no_segments.all_events if e.is_step_failure)
    assert "materialize toy_segments" in failure.step_failure_data.user_failure_data.description

    rest = dg.materialize(
        everything,
        instance=instance,
        resources=resources,
        partition_key="good-a",
        selection=["toy_audio", "toy_segments", "toy_muq_embeddings"],
    )
    assert rest.success
    audio_event = next(
        e
        for e in rest.all_events
        if e.is_step_materialization
        and e.step_materialization_data.materialization.asset_key == dg.AssetKey("toy_audio")
    )
    assert (
        audio_event.step_materialization_data.materialization.metadata["reused_existing"].value
        is True
    )
    again = dg.materialize(
        everything,
        instance=instance,
        resources=resources,
        partition_key="good-a",
        selection=["toy_muq_embeddings"],
    )
    embedded = next(
        e.step_materialization_data.materialization
        for e in again.all_events
        if e.is_step_materialization
    )
    assert embedded.metadata["reused_existing"].value is True


def test_sensor_registers_the_catalog_and_notices_growth(
    toy_world: tuple[ModelRepoLayout, dict[str, str]],
) -> None:
    layout, _ = toy_world
    instance = dg.DagsterInstance.ephemeral()
    sensor = next(s for s in toy_defs.sensors or [] if s.name == "toy_new_recordings")
    resources = {**_resources(layout)}
    with dg.build_sensor_context(instance=instance, resources=resources) as context:
        first = sensor(context)
    assert isinstance(first, dg.SensorResult)
    assert first.run_requests and first.run_requests[0].asset_selection == [
        dg.AssetKey("toy_catalog")
    ]
    dg.materialize(
        _assets_and_checks(toy_defs),
        instance=instance,
        resources=_resources(layout),
        selection=["toy_catalog"],
    )
    with dg.build_sensor_context(instance=instance, resources=resources) as context:
        settled = sensor(context)
    assert isinstance(settled, dg.SkipReason)
    assert "catalog unchanged" in (settled.skip_message or "")


def test_readiness_lists_a_new_tier_for_information_without_being_edited(
    toy_world: tuple[ModelRepoLayout, dict[str, str]],
) -> None:
    from piano_assets.chopin2021.gate import GATE as CHOPIN2021_GATE
    from piano_assets.maestro.gate import GATE as MAESTRO_GATE

    layout, _ = toy_world
    gates = [CHOPIN2021_GATE, MAESTRO_GATE, GATE]
    readiness_defs(gates)  # builds with the extra gate
    results = evaluate_readiness(
        layout, gates, {"toy_recordings": ["good-a"]}, probe=lambda _layout: []
    )
    toy = results[-1]
    assert toy.number == 0 and not toy.passed
    report = render_report(results)
    assert "## For information (not a gate)" in report
    assert "Toy tier (information only)" in report
    assert "(6 criteria pass)" not in report.replace("/6 criteria pass", "")
