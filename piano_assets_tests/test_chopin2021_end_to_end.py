"""The whole T2 tier on the clean sample world, offline: every asset, every check, the outputs."""

import json
from pathlib import Path

import dagster as dg
import pytest

from piano_assets.chopin2021.checks import chopin2021_checks
from piano_assets.chopin2021.defs import defs as chopin2021_defs
from piano_assets.chopin2021.records import ResultRecord, SegmentRecord
from piano_assets.chopin2021.results import PLACEMENT_ORDINAL
from piano_assets.layout import ModelRepoLayout
from piano_assets.lib.jsonl import read_jsonl
from piano_assets.reorganize.assets import reorganize_assets
from piano_assets.runner import RANGE_END, RANGE_START
from piano_assets.sample.chopin2021_world import build_chopin2021_world
from piano_assets_tests.support import everything_in, offline_resources
from piano_assets_tests.test_chopin2021_results import PUBLISHED_PRIZES

pytestmark = pytest.mark.slow

TIER_ASSETS = ["chopin2021_audio", "chopin2021_segments", "chopin2021_muq_embeddings"]


def test_tier_materializes_end_to_end_offline(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    world = build_chopin2021_world(tmp_path / "world")
    resources = offline_resources(root, world)
    instance = dg.DagsterInstance.ephemeral()
    everything = [*reorganize_assets, *everything_in(chopin2021_defs)]

    def run(selection: list[str], **kwargs: object) -> dg.ExecuteInProcessResult:
        return dg.materialize(
            everything, instance=instance, resources=resources, selection=selection, **kwargs
        )

    upstream = run(["chopin2021_results", "chopin2021_video_catalog"])
    keys = list(instance.get_dynamic_partitions("chopin2021_recordings"))  # registration order
    assert sorted(keys) == sorted(world.expected_recordings.values())
    catalog_meta = upstream.asset_materializations_for_node("chopin2021_video_catalog")[0].metadata
    assert "session" in catalog_meta["ledger"].value and "another edition" in (
        catalog_meta["ledger"].value
    )

    # One run for every recording (a multi-run backfill of this size is a single run).
    tier = run(TIER_ASSETS, tags={RANGE_START: keys[0], RANGE_END: keys[-1]})
    assert tier.success
    for asset in TIER_ASSETS:
        assert instance.get_materialized_partitions(dg.AssetKey(asset)) == set(keys)

    final = run(["chopin2021_metadata"])
    assert final.success
    checks = [
        *upstream.get_asset_check_evaluations(),
        *final.get_asset_check_evaluations(),
    ]
    assert {c.check_name for c in checks} == {spec.name for spec in _check_specs()} | {
        "every_recording_has_audio_segments_embeddings"
    }
    assert all(c.passed for c in checks), [(c.check_name, c.description) for c in checks]
    completeness = next(
        c for c in checks if c.check_name == "every_recording_has_audio_segments_embeddings"
    )
    assert "RANDOM" in completeness.description.upper()

    layout = ModelRepoLayout(root)
    results = read_jsonl(layout.chopin2021 / "results.jsonl", ResultRecord)
    laureates = sorted(
        ((r.prize, r.performer) for r in results if r.prize),
        key=PUBLISHED_PRIZES.index,
    )
    assert laureates == PUBLISHED_PRIZES
    segments = read_jsonl(layout.chopin2021 / "metadata.jsonl", SegmentRecord)
    assert {s.recording_id for s in segments} == set(keys)
    by_performer = {r.performer: r for r in results}
    for segment in segments:
        row = by_performer[segment.performer]
        assert (segment.placement, segment.ordinal) == (row.placement, row.ordinal)
        assert segment.ordinal == PLACEMENT_ORDINAL[segment.placement]
        assert segment.provenance.embedder_is_random
        assert (layout.chopin2021 / segment.embedding_file).is_file()
    liu_final = [s for s in segments if s.recording_id == "f-liu-bruce-xiaoyu-01"]
    assert liu_final and liu_final[0].piece == "Piano Concerto in E minor, Op. 11"
    assert {s.piece for s in segments if s.recording_id == "s1-lee-jaeyoon-01"} == {
        "stage I recital"
    }

    meta = final.asset_materializations_for_node("chopin2021_metadata")[0].metadata
    yield_md = meta["yield_per_round"].value
    assert "| final | 12 | 2 | 2 |" in yield_md  # 12 finalists, 2 performers, 2 recordings
    assert meta["segments"].value == len(segments)

    # Listing again registers nothing new and keeps every key.
    again = run(["chopin2021_video_catalog"])
    assert (
        again.asset_materializations_for_node("chopin2021_video_catalog")[0]
        .metadata["newly_registered"]
        .value
        == []
    )
    assert list(instance.get_dynamic_partitions("chopin2021_recordings")) == keys
    assert json.loads((world.world_dir / "chopin2021_world.json").read_text())


def _check_specs() -> list[dg.AssetCheckSpec]:
    return [spec for check in chopin2021_checks for spec in check.check_specs]
