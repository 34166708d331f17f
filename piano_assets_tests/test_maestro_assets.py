"""The `maestro` tier wired in Dagster, end to end on the generated sample, tiny random MuQ."""

from __future__ import annotations

import json
import os
import shutil
import struct
import zipfile
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from piano_assets.engine import SegmentPolicy, embedding_path
from piano_assets.engine.files import sha256_file
from piano_assets.layout import ModelRepoLayout
from piano_assets.lib.recording_batch import read_failure_ledger
from piano_assets.lib.recording_steps import finished_audio
from piano_assets.lib.tier import AudioRecord
from piano_assets.maestro import recordings as maestro_recordings
from piano_assets.maestro.archive import read_wav_format
from piano_assets.maestro.coverage import embedding_coverage, planned_segments
from piano_assets.maestro.defs import defs as maestro_defs
from piano_assets.maestro.defs import tier
from piano_assets.maestro.pairs import pair_problems
from piano_assets.maestro.paths import MaestroPaths
from piano_assets.maestro.records import PairsManifest, PieceMapManifest
from piano_assets.resources import (
    ModelRepoResource,
    MuqEmbedderResource,
    SourceUrlsResource,
    YtDlpResource,
)
from piano_assets.runner import RANGE_END, RANGE_START

TIER_KEYS = ["maestro_audio", "maestro_segments", "maestro_muq_embeddings"]
MAESTRO_PARTITIONS_NAME = "maestro_recordings"
EVERYTHING = [*(maestro_defs.assets or []), *(maestro_defs.asset_checks or [])]
DOWNSTREAM = ["maestro_piece_performer_map", "maestro_contrastive_pairs"]


@pytest.fixture
def sample_cache(maestro_sample_cache: Path) -> Path:
    return maestro_sample_cache


def _repo(tmp_path: Path, sample_cache: Path, *, link: bool = True) -> ModelRepoLayout:
    """A model repo holding the sample cache (hard links: the tier never writes the inputs)."""
    layout = ModelRepoLayout(tmp_path / "repo")
    copy = os.link if link else shutil.copy2
    shutil.copytree(sample_cache, layout.maestro_cache, copy_function=copy)
    return layout


def _resources(
    layout: ModelRepoLayout,
    source: Path | None = None,
    sha256: str | None = None,
    verify: bool = False,
) -> dict[str, object]:
    return {
        "model_repo": ModelRepoResource(root=str(layout.root), dry_run=False),
        "muq": MuqEmbedderResource(
            mode="random",
            weights="none",
            random_size="tiny",
            device="cpu",
            batch_size=4,
            pooling="none",
            segment_seconds=30.0,
            min_tail_seconds=5.0,
        ),
        "source_urls": SourceUrlsResource(
            chopin2021_base_url="file:///unused/",
            chopin2021_channel_url="file:///unused/",
            maestro_source=str(source) if source else None,
            maestro_url=None,
            maestro_sha256=sha256,
            maestro_verify_sha256=verify,
        ),
        "ytdlp": YtDlpResource(),
    }


def _register(instance: dg.DagsterInstance, resources: dict[str, object]) -> list[str]:
    result = dg.materialize(
        EVERYTHING,
        instance=instance,
        resources=resources,
        selection=["maestro_recordings"],
    )
    assert result.success
    return list(instance.get_dynamic_partitions(MAESTRO_PARTITIONS_NAME))


def _run_tier(
    instance: dg.DagsterInstance,
    resources: dict[str, object],
    keys: list[str],
    selection: list[str] = TIER_KEYS,
) -> dg.ExecuteInProcessResult:
    """One run over a range of partitions, as a multi-run backfill launches it."""
    return dg.materialize(
        EVERYTHING,
        instance=instance,
        resources=resources,
        selection=selection,
        tags={RANGE_START: keys[0], RANGE_END: keys[-1]},
        raise_on_error=False,
    )


def _materialized(instance: dg.DagsterInstance, key: str) -> set[str]:
    return set(instance.get_materialized_partitions(dg.AssetKey(key)))


def _metadata(result: dg.ExecuteInProcessResult, key: str) -> dict[str, object]:
    (event,) = _materializations(result, key)
    return {name: value.value for name, value in event.metadata.items()}


def _materializations(result: dg.ExecuteInProcessResult, key: str) -> list[dg.AssetMaterialization]:
    return [
        event.step_materialization_data.materialization
        for event in result.all_events
        if event.is_step_materialization
        and event.step_materialization_data.materialization.asset_key == dg.AssetKey(key)
    ]


def _record(layout: ModelRepoLayout, key: str) -> AudioRecord:
    record = finished_audio(MaestroPaths(layout).recordings(), key)
    assert record is not None, key
    return record


@pytest.mark.slow
def test_tier_materializes_end_to_end_on_the_sample(tmp_path: Path, sample_cache: Path) -> None:
    layout = _repo(tmp_path, sample_cache)
    paths = MaestroPaths(layout)
    recordings = maestro_recordings.read_source_metadata(paths, None)[0]
    # ATEPP metadata naming one recording's performer (a fixture, not real ATEPP data).
    named = recordings.row(0, named=True)
    atepp = layout.data / "atepp_cache" / "ATEPP-metadata-1.2.csv"
    atepp.parent.mkdir(parents=True)
    atepp.write_text(
        f"artist,track,maestro_audio_filename\nPianist A,x,{named['audio_filename']}\n"
    )

    instance = dg.DagsterInstance.ephemeral()
    resources = _resources(layout)
    keys = _register(instance, resources)
    assert sorted(keys) == sorted(recordings["recording_id"].to_list())

    # One run carries every partition (BackfillPolicy.multi_run): audio then embeddings.
    result = _run_tier(instance, resources, keys)
    assert result.success
    for asset in TIER_KEYS:
        assert _materialized(instance, asset) == set(keys), asset
    for key in keys:
        wav = read_wav_format(paths.audio(key))
        assert wav is not None and (wav.sample_rate, wav.channels) == (24_000, 1)
        record = _record(layout, key)
        assert record.details["source_kind"] == "folder"  # the extracted folder wins
        assert record.details["source_sample_rate"] in (44_100, 48_000)
        assert record.details["source_channels"] == 2

    # The stored segments are what the engine's policy plans from the CSV durations.
    coverage = embedding_coverage(paths, keys)
    planned = planned_segments(recordings, SegmentPolicy(30.0, 5.0))
    assert sorted(coverage.table["segment_id"]) == sorted(planned["segment_id"])
    assert all(label.random_weights for label in coverage.labels.values())

    downstream = dg.materialize(
        EVERYTHING,
        instance=instance,
        resources=resources,
        selection=DOWNSTREAM,
    )
    assert downstream.success
    checks = {e.check_name: e for e in downstream.get_asset_check_evaluations()}
    assert set(checks) == {
        "every_recording_has_audio_segments_embeddings",
        "maestro_piece_map_consistent",
        "maestro_pairs_valid",
        "maestro_titles_resolved",
        "maestro_no_negative_within_work",
        "maestro_no_positive_across_scopes",
        "maestro_pairs_respect_splits",
    }
    assert all(e.passed for e in checks.values()), {k: e.description for k, e in checks.items()}
    assert "RANDOM-WEIGHT" in checks["every_recording_has_audio_segments_embeddings"].description
    assert "all 6 titles resolved" in checks["maestro_titles_resolved"].description

    map_meta = _metadata(downstream, "maestro_piece_performer_map")
    # Six real titles, four normalized pieces, four works.
    assert (map_meta["raw_titles"], map_meta["normalized_titles"], map_meta["works"]) == (6, 4, 4)
    assert map_meta["works_with_2_plus_performers"] == 2
    assert map_meta["titles_unresolved"] == 0
    plot = Path(str(map_meta["recordings_per_work_plot"]))
    assert plot == paths.works_plot and plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert map_meta["recordings_covered"] == len(keys)
    assert map_meta["hours"] == pytest.approx(recordings["duration"].sum() / 3600, abs=1e-3)
    assert map_meta["random_weights"] is True
    assert "RANDOM-WEIGHT" in map_meta["embedder"]
    manifest = PieceMapManifest.model_validate_json(paths.piece_map_manifest.read_text())
    assert manifest.atepp.matched_recordings == 1
    # Manifests name files relative to the model repo root, so the repo can move.
    assert manifest.table == "model/data/maestro_cache/piece_performer_map.parquet"
    assert manifest.plot == "model/data/maestro_cache/recordings_per_work.png"
    assert manifest.atepp.path == "model/data/atepp_cache/ATEPP-metadata-1.2.csv"
    assert (layout.root / manifest.table).is_file()
    piece_map = pl.read_parquet(paths.piece_map_table)
    assert piece_map.filter(pl.col("performer_name") == "Pianist A").height == 1

    pairs = pl.read_parquet(paths.pairs_table)
    assert pair_problems(pairs, set(coverage.table["segment_id"]), allow_cross_split=False) == []
    positives = pairs.filter(pl.col("label") == "positive")
    assert set(positives["anchor_split"]) == {"train", "validation"}
    assert (pairs["anchor_split"] == pairs["other_split"]).all()
    pairs_meta = _metadata(downstream, "maestro_contrastive_pairs")
    assert pairs_meta["cross_split_pairs"] == 0
    assert "RANDOM-WEIGHT" in pairs_meta["embedder"]
    pairs_manifest = PairsManifest.model_validate_json(paths.pairs_manifest.read_text())
    assert pairs_manifest.embedder is not None and pairs_manifest.embedder.random_weights
    assert pairs_manifest.table == "model/data/maestro_cache/contrastive_pairs.parquet"
    assert pairs_manifest.piece_map_sha256 == sha256_file(paths.piece_map_table)
    assert pairs_meta["piece_map_sha256"] == pairs_manifest.piece_map_sha256
    assert positives["anchor_work_id"].is_in(["mendelssohn:op54", "chopin:op57"]).all()
    recordings_manifest = json.loads(paths.recordings_manifest.read_text())
    assert not Path(recordings_manifest["metadata_source"]).is_absolute()

    # Re-running finishes nothing twice: audio is reused, embeddings are up to date.
    again = _run_tier(instance, resources, keys)
    assert again.success
    for asset in ("maestro_audio", "maestro_muq_embeddings"):
        reused = [e.metadata["reused_existing"].value for e in _materializations(again, asset)]
        assert reused == [True] * len(keys), asset

    # Asked for, pairs may cross splits; the check then accepts it.
    crossing = dg.materialize(
        EVERYTHING,
        instance=instance,
        resources=resources,
        selection=["maestro_contrastive_pairs"],
        run_config={"ops": {"maestro_contrastive_pairs": {"config": {"allow_cross_split": True}}}},
    )
    assert crossing.success
    assert _metadata(crossing, "maestro_contrastive_pairs")["cross_split_pairs"] > 0

    # Embeddings deleted behind the map's back: pairs refuse to build from a stale map.
    embedding_path(paths.embeddings_dir, keys[0]).unlink()
    stale = dg.materialize(
        EVERYTHING,
        instance=instance,
        resources=resources,
        selection=["maestro_contrastive_pairs"],
        raise_on_error=False,
    )
    assert not stale.success
    failure = next(e for e in stale.all_events if e.is_step_failure)
    assert (
        "materialize maestro_piece_performer_map again"
        in failure.step_failure_data.error.to_string()
    )


def test_zip_is_read_in_place_and_verified_when_asked(tmp_path: Path, sample_cache: Path) -> None:
    layout = _repo(tmp_path, sample_cache)
    zip_path = layout.maestro_cache / "maestro-v3.0.0.zip"
    instance = dg.DagsterInstance.ephemeral()
    keys = _register(instance, _resources(layout, source=zip_path))[:2]

    wrong_sha = _resources(layout, source=zip_path, sha256="0" * 64, verify=True)
    wrong = _run_tier(instance, wrong_sha, keys, ["maestro_audio"])
    assert not wrong.success
    failure = next(e for e in wrong.all_events if e.is_step_failure)
    message = failure.step_failure_data.user_failure_data.description
    assert "does not match the expected" in message and str(zip_path) in message
    assert _materialized(instance, "maestro_audio") == set()

    digest = sha256_file(zip_path)
    right_sha = _resources(layout, source=zip_path, sha256=digest, verify=True)
    right = _run_tier(instance, right_sha, keys, ["maestro_audio"])
    assert right.success
    assert _materialized(instance, "maestro_audio") == set(keys)
    for key in keys:
        record = _record(layout, key)
        assert record.details["source_kind"] == "zip"
        assert str(record.details["member"]).startswith("maestro-v3.0.0/")
    # Members were streamed one at a time and removed; nothing else was extracted.
    scratch = layout.downloads / "maestro" / "scratch"
    assert not scratch.exists() or list(scratch.iterdir()) == []
    stamp = json.loads(
        (layout.downloads / "maestro" / "maestro-v3.0.0.zip.sha256-verified.json").read_text()
    )
    assert stamp["sha256"] == digest


def _corrupt(zip_path: Path, member: str) -> None:
    with zipfile.ZipFile(zip_path) as handle:
        info = handle.getinfo(member)
    with open(zip_path, "r+b") as raw:
        raw.seek(info.header_offset + 26)
        name_len, extra_len = struct.unpack("<HH", raw.read(4))
        start = info.header_offset + 30 + name_len + extra_len + info.compress_size // 2
        raw.seek(start)
        chunk = raw.read(256)
        raw.seek(start)
        raw.write(bytes(b ^ 0xFF for b in chunk))


def test_a_corrupt_member_fails_only_its_partition(tmp_path: Path, sample_cache: Path) -> None:
    layout = _repo(tmp_path, sample_cache, link=False)
    zip_path = layout.maestro_cache / "maestro-v3.0.0.zip"
    instance = dg.DagsterInstance.ephemeral()
    resources = _resources(layout, source=zip_path)
    keys = _register(instance, resources)[:3]
    recordings = maestro_recordings.load_recordings(MaestroPaths(layout))
    bad_key = keys[1]
    bad_name = recordings.filter(pl.col("recording_id") == bad_key)["audio_filename"].item()
    _corrupt(zip_path, f"maestro-v3.0.0/{bad_name}")

    result = _run_tier(instance, resources, keys, ["maestro_audio"])
    assert not result.success
    assert _materialized(instance, "maestro_audio") == {keys[0], keys[2]}
    failure = next(e for e in result.all_events if e.is_step_failure)
    description = failure.step_failure_data.user_failure_data.description
    assert f"{bad_key}: maestro_audio failed" in description
    assert f"maestro-v3.0.0/{bad_name}" in description
    (ledger,) = read_failure_ledger(layout.failure_ledgers, "maestro")
    assert ledger.recording_id == bad_key and "corrupt" in ledger.message


def test_per_recording_assets_come_from_the_factory_batched_and_pooled() -> None:
    from piano_assets.settings import load_settings

    policy = tier.recordings.backfill_policy
    assert policy is not None
    assert policy.max_partitions_per_run == load_settings().backfill_partitions_per_run
    assert tier.recordings.can_subset
    steps = {node.name: node for node in tier.recordings.node_def.node_defs}  # type: ignore[attr-defined]
    assert steps["maestro_recording_embeddings"].pool == "muq"
    assert {key.to_user_string() for key in tier.recordings.keys} == set(TIER_KEYS)
    assert tier.recordings.asset_deps[dg.AssetKey("maestro_muq_embeddings")] == {
        dg.AssetKey("maestro_segments")
    }


@pytest.mark.slow
def test_missing_embeddings_fail_the_blocking_check_and_skip_pairs(
    tmp_path: Path, sample_cache: Path
) -> None:
    layout = _repo(tmp_path, sample_cache)
    instance = dg.DagsterInstance.ephemeral()
    resources = _resources(layout)
    keys = _register(instance, resources)
    assert _run_tier(instance, resources, keys[:2]).success  # 2 of 6 recordings embedded

    result = dg.materialize(
        EVERYTHING,
        instance=instance,
        resources=resources,
        selection=DOWNSTREAM,
        raise_on_error=False,
    )
    assert not result.success
    check = next(
        e
        for e in result.get_asset_check_evaluations()
        if e.check_name == "every_recording_has_audio_segments_embeddings"
    )
    assert not check.passed
    assert "4 of 6 recordings incomplete" in check.description
    assert keys[2] in check.description
    # The blocking check stopped the pairs in this run.
    assert result.asset_materializations_for_node("maestro_contrastive_pairs") == []
    map_meta = _metadata(result, "maestro_piece_performer_map")
    assert map_meta["recordings_covered"] == 2
