"""T4 on the tier factory, wired in Dagster over the sample's local YouTube world (real yt-dlp,
real ffmpeg, tiny random-weight MuQ): clean and augmented embeddings and pairs; a removed video
fails only its own partition, classified permanent; any pair regenerates bit for bit."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import numpy as np
import polars as pl
import pytest

from piano_assets.engine import decode_audio
from piano_assets.engine.segment import read_segment_table
from piano_assets.engine.store import load_recording_embeddings
from piano_assets.layout import ModelRepoLayout
from piano_assets.lib.recording_batch import read_failure_ledger
from piano_assets.resources import ModelRepoResource, SourceUrlsResource, YtDlpResource
from piano_assets.runner import RANGE_END, RANGE_START
from piano_assets.sample.youtube_world import build_youtube_world
from piano_assets.youtube_piano.augment import SegmentAugmenter, apply_record
from piano_assets.youtube_piano.defs import AUGMENTATION
from piano_assets.youtube_piano.defs import defs as youtube_piano_defs
from piano_assets.youtube_piano.paths import YoutubePianoPaths
from piano_assets.youtube_piano.records import read_metadata, read_pairs
from piano_assets_tests.support import everything_in, tiny_muq

pytestmark = pytest.mark.slow

PER_RECORDING = [
    "youtube_piano_audio",
    "youtube_piano_segments",
    "youtube_piano_muq_embeddings",
    "youtube_piano_augmented_muq_embeddings",
]


def test_the_tier_materializes_offline_with_clean_and_augmented_pairs(tmp_path: Path) -> None:
    world = build_youtube_world(tmp_path / "world")
    root = tmp_path / "repo"
    root.mkdir()
    resources = {
        "model_repo": ModelRepoResource(root=str(root), dry_run=False),
        "muq": tiny_muq(),
        "ytdlp": YtDlpResource(allow_file_urls=True, retries=0),
        "source_urls": SourceUrlsResource(
            youtube_piano_channels_file=str(world.channels_file),
            youtube_piano_min_duration_s=world.filters.min_duration_s,
            youtube_piano_max_duration_s=world.filters.max_duration_s,
        ),
    }
    instance = dg.DagsterInstance.ephemeral()
    everything = everything_in(youtube_piano_defs)

    def run(selection: list[str], **kwargs: object) -> dg.ExecuteInProcessResult:
        return dg.materialize(
            everything,
            instance=instance,
            resources=resources,
            selection=selection,
            raise_on_error=False,
            **kwargs,
        )

    catalog = run(["youtube_piano_channels", "youtube_piano_catalog"])
    assert catalog.success
    keys = list(instance.get_dynamic_partitions("youtube_piano_recordings"))
    assert sorted(keys) == sorted(world.expected_kept.values())
    (meta,) = [
        e.step_materialization_data.materialization.metadata
        for e in catalog.all_events
        if e.is_step_materialization
        and e.step_materialization_data.materialization.asset_key.path == ["youtube_piano_catalog"]
    ]
    dropped = meta["dropped"].value
    assert {"short", "non_piano", "duplicate"} <= set(dropped)  # type: ignore[arg-type]

    # One backfill run over every recording: the removed video fails alone, classified.
    tier = run(PER_RECORDING, tags={RANGE_START: keys[0], RANGE_END: keys[-1]})
    assert not tier.success
    removed = world.removed_recording_id
    for asset in PER_RECORDING:
        assert instance.get_materialized_partitions(dg.AssetKey(asset)) == set(keys) - {removed}
    ledger = read_failure_ledger(ModelRepoLayout(root).failure_ledgers, "youtube_piano")
    assert [(f.recording_id, f.stage, f.classification) for f in ledger] == [
        (removed, "youtube_piano_audio", "permanent")
    ]
    failure = next(e for e in tier.all_events if e.is_step_failure)
    description = failure.step_failure_data.user_failure_data.description
    assert f"{removed}: youtube_piano_audio failed (permanent)" in description
    assert "will not be retried" in description

    pairs_run = run(["youtube_piano_pairs"])
    assert pairs_run.success
    checks = {c.check_name: c for c in pairs_run.get_asset_check_evaluations()}
    assert all(c.passed for c in checks.values()), {k: c.description for k, c in checks.items()}
    assert "1 permanently unavailable" in (
        checks["every_recording_has_clean_and_augmented_embeddings"].description or ""
    )
    paths = YoutubePianoPaths(ModelRepoLayout(root))
    rows = read_metadata(paths.metadata)
    pairs = read_pairs(paths.pairs)
    assert {r.recording_id for r in rows} == set(keys) - {removed}
    assert len(pairs) == len(rows) * AUGMENTATION.versions_per_segment
    assert all(r.random_weights for r in rows)
    distances = pl.read_parquet(paths.invariance)
    assert distances.height == len(pairs)
    assert ((distances["cosine"] > -1.0001) & (distances["cosine"] < 1.0001)).all()
    materialized = next(
        e.step_materialization_data.materialization
        for e in pairs_run.all_events
        if e.is_step_materialization
    )
    assert "RANDOM-WEIGHT MuQ - NOT real embeddings" in str(materialized.metadata["invariance"])
    assert Path(str(materialized.metadata["invariance_plot"].value)).read_bytes()[:4] == b"\x89PNG"

    # Any pair regenerates bit for bit from its recorded parameters and the clean audio.
    pair = pairs[len(pairs) // 2]
    recordings = paths.recordings()
    table = read_segment_table(recordings.segment_table(pair.recording_id))
    segment = next(s for s in table if s.segment_id == pair.clean_segment_id)
    audio = decode_audio(recordings.audio(pair.recording_id))  # what the engine reads
    clean = audio[round(segment.start_s * 24_000) : round(segment.end_s * 24_000)]
    from_record = apply_record(clean, pair.record())
    as_the_engine_did = SegmentAugmenter(AUGMENTATION, pair.version)(segment, clean)
    assert from_record.tobytes() == as_the_engine_did.tobytes()
    assert not np.array_equal(from_record, clean)
    stored = load_recording_embeddings(paths.augmented(pair.recording_id, pair.version))
    assert (
        stored.provenance["segment_transform.augmentation_config_sha256"] == AUGMENTATION.sha256()
    )
    assert stored.provenance["segment_transform.augmentation_version"] == str(pair.version)

    # A re-run retries nothing permanent and recomputes nothing finished.
    again = run(PER_RECORDING, tags={RANGE_START: keys[0], RANGE_END: keys[-1]})
    again_ledger = read_failure_ledger(ModelRepoLayout(root).failure_ledgers, "youtube_piano")
    assert [f.classification for f in again_ledger] == ["permanent", "permanent"]
    assert "recorded" in again_ledger[-1].message  # refused from the ledger, no new download
    reused = [
        e.step_materialization_data.materialization.metadata["reused_existing"].value
        for e in again.all_events
        if e.is_step_materialization
    ]
    assert reused and all(reused)
