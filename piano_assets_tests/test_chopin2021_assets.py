"""T2 wiring (dagster.materialize): a gone video fails only its own partitions; subsets work."""

import json
from pathlib import Path

import dagster as dg
import pytest

from piano_assets.chopin2021.defs import defs as chopin2021_defs
from piano_assets.layout import ModelRepoLayout
from piano_assets.lib.recording_batch import read_failure_ledger
from piano_assets.reorganize.assets import reorganize_assets
from piano_assets.runner import RANGE_END, RANGE_START
from piano_assets.sample.chopin2021_world import build_chopin2021_world
from piano_assets_tests.support import everything_in, offline_resources

pytestmark = pytest.mark.slow


def test_gone_video_fails_alone_and_subset_backfill(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    world = build_chopin2021_world(tmp_path / "world", include_missing_video=True)
    resources = offline_resources(root, world)
    instance = dg.DagsterInstance.ephemeral()
    everything = [*reorganize_assets, *everything_in(chopin2021_defs)]

    catalog = dg.materialize(
        everything,
        instance=instance,
        resources=resources,
        selection=["chopin2021_results", "chopin2021_video_catalog"],
    )
    assert catalog.success
    keys = list(instance.get_dynamic_partitions("chopin2021_recordings"))
    assert len(keys) >= 3

    # A chosen subset of two recordings, as one backfill run.
    subset = dg.materialize(
        everything,
        instance=instance,
        resources=resources,
        selection=["chopin2021_audio", "chopin2021_segments", "chopin2021_muq_embeddings"],
        tags={RANGE_START: keys[0], RANGE_END: keys[1]},
        raise_on_error=False,
    )
    embedded = instance.get_materialized_partitions(dg.AssetKey("chopin2021_muq_embeddings"))
    ledger_dir = ModelRepoLayout(root).failure_ledgers
    failed_in_subset = {f.recording_id for f in read_failure_ledger(ledger_dir, "chopin2021")}
    assert embedded == set(keys[:2]) - failed_in_subset
    assert embedded and subset.success == (not failed_in_subset)

    # All of them: the one whose media is gone fails alone, with its name and cause.
    run = dg.materialize(
        everything,
        instance=instance,
        resources=resources,
        selection=["chopin2021_audio", "chopin2021_segments", "chopin2021_muq_embeddings"],
        tags={RANGE_START: keys[0], RANGE_END: keys[-1]},
        raise_on_error=False,
    )
    assert not run.success
    ledger = read_failure_ledger(ledger_dir, "chopin2021")
    failed = {failure.recording_id for failure in ledger}
    assert len(failed) == 1
    (gone,) = failed
    assert ledger[-1].stage == "chopin2021_audio"
    embedded = instance.get_materialized_partitions(dg.AssetKey("chopin2021_muq_embeddings"))
    assert embedded == set(keys) - {gone}
    failure = next(e for e in run.all_events if e.is_step_failure)
    assert gone in failure.step_failure_data.user_failure_data.description

    # Metadata covers every embedded recording; its blocking completeness check names the gap.
    meta = dg.materialize(
        everything,
        instance=instance,
        resources=resources,
        selection=["chopin2021_metadata"],
        raise_on_error=False,
    )
    assert not meta.success  # the blocking check fails the run
    lines = (ModelRepoLayout(root).chopin2021 / "metadata.jsonl").read_text().splitlines()
    recordings = {json.loads(line)["recording_id"] for line in lines}
    assert recordings == set(keys) - {gone}
    checks = {e.check_name: e for e in meta.get_asset_check_evaluations()}
    assert not checks["every_recording_has_audio_segments_embeddings"].passed
    assert gone in checks["every_recording_has_audio_segments_embeddings"].description
    assert not checks["every_recording_in_metadata"].passed
    assert checks["placements_agree_with_results"].passed
