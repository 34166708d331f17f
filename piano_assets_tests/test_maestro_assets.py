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
from piano_assets.maestro import adapter
from piano_assets.maestro.archive import read_wav_format
from piano_assets.maestro.assets import maestro_assets
from piano_assets.maestro.checks import maestro_checks
from piano_assets.maestro.pairs import pair_problems
from piano_assets.maestro.partitions import MAESTRO_PARTITIONS_NAME
from piano_assets.maestro.paths import MaestroPaths
from piano_assets.maestro.records import AudioProvenance, PairsManifest, PieceMapManifest
from piano_assets.partitioned import read_failure_ledger
from piano_assets.resources import ModelRepoResource, MuqEmbedderResource, SourceUrlsResource
from piano_assets.runner import RANGE_END, RANGE_START
from piano_assets.sample.maestro_sample import build_maestro_sample

TIER_KEYS = ["maestro_audio", "maestro_muq_embeddings"]
DOWNSTREAM = ["maestro_piece_performer_map", "maestro_contrastive_pairs"]


@pytest.fixture(scope="module")
def sample_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cache = tmp_path_factory.mktemp("maestro_sample") / "maestro_cache"
    build_maestro_sample(cache, None)
    return cache


def _repo(tmp_path: Path, sample_cache: Path, *, link: bool = True) -> ModelRepoLayout:
    """A model repo holding the sample cache (hard links: the tier never writes the inputs)."""
    layout = ModelRepoLayout(tmp_path / "repo")
    copy = os.link if link else shutil.copy2
    shutil.copytree(sample_cache, layout.maestro_cache, copy_function=copy)
    return layout


def _resources(
    layout: ModelRepoLayout, source: Path | None = None, sha256: str | None = None
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
        ),
    }


def _register(instance: dg.DagsterInstance, resources: dict[str, object]) -> list[str]:
    result = dg.materialize(
        [*maestro_assets, *maestro_checks],
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
    run_config: dict | None = None,
) -> dg.ExecuteInProcessResult:
    """One run over a range of partitions, as a multi-run backfill launches it."""
    return dg.materialize(
        [*maestro_assets, *maestro_checks],
        instance=instance,
        resources=resources,
        selection=selection,
        tags={RANGE_START: keys[0], RANGE_END: keys[-1]},
        run_config=run_config,
        raise_on_error=False,
    )


def _materialized(instance: dg.DagsterInstance, key: str) -> set[str]:
    return set(instance.get_materialized_partitions(dg.AssetKey(key)))


def _metadata(result: dg.ExecuteInProcessResult, key: str) -> dict[str, object]:
    (event,) = result.asset_materializations_for_node(key)
    return {name: value.value for name, value in event.metadata.items()}


@pytest.mark.slow
def test_tier_materializes_end_to_end_on_the_sample(tmp_path: Path, sample_cache: Path) -> None:
    layout = _repo(tmp_path, sample_cache)
    paths = MaestroPaths(layout)
    recordings = adapter.read_source_metadata(paths, None)[0]
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
    assert _materialized(instance, "maestro_audio") == set(keys)
    assert _materialized(instance, "maestro_muq_embeddings") == set(keys)
    for key in keys:
        wav = read_wav_format(paths.audio(key))
        assert wav is not None and (wav.sample_rate, wav.channels) == (24_000, 1)
        provenance = AudioProvenance.model_validate_json(paths.audio_provenance(key).read_text())
        assert provenance.source_kind == "folder"  # the extracted folder wins when present
        assert provenance.source_sample_rate in (44_100, 48_000)
        assert provenance.source_channels == 2

    # The stored segments are what the engine's policy plans from the CSV durations.
    coverage = adapter.embedding_coverage(paths, keys)
    planned = adapter.planned_segments(recordings, SegmentPolicy(30.0, 5.0))
    assert sorted(coverage.table["segment_id"]) == sorted(planned["segment_id"])
    assert all(label.random_weights for label in coverage.labels.values())

    downstream = dg.materialize(
        [*maestro_assets, *maestro_checks],
        instance=instance,
        resources=resources,
        selection=DOWNSTREAM,
    )
    assert downstream.success
    checks = {e.check_name: e for e in downstream.get_asset_check_evaluations()}
    assert set(checks) == {
        "maestro_every_recording_embedded",
        "maestro_piece_map_consistent",
        "maestro_pairs_valid",
        "maestro_titles_resolved",
        "maestro_no_negative_within_work",
        "maestro_no_positive_across_scopes",
        "maestro_pairs_respect_splits",
    }
    assert all(e.passed for e in checks.values()), {k: e.description for k, e in checks.items()}
    assert "RANDOM-WEIGHT" in checks["maestro_every_recording_embedded"].description
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
    audio_events = again.asset_materializations_for_node("maestro_audio_and_embeddings")
    reused = [e.metadata["reused"].value for e in audio_events if "reused" in e.metadata]
    skipped = [
        e.metadata["skipped_existing"].value
        for e in audio_events
        if "skipped_existing" in e.metadata
    ]
    assert reused == [True] * len(keys) and skipped == [True] * len(keys)

    # Asked for, pairs may cross splits; the check then accepts it.
    crossing = dg.materialize(
        [*maestro_assets, *maestro_checks],
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
        [*maestro_assets, *maestro_checks],
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


def _audio_config(verify: bool, sha256: str | None) -> dict:
    return {
        "ops": {
            "maestro_audio_and_embeddings": {
                "config": {"verify_zip_sha256": verify, "expected_sha256": sha256}
            }
        }
    }


def test_zip_is_read_in_place_and_verified_when_asked(tmp_path: Path, sample_cache: Path) -> None:
    layout = _repo(tmp_path, sample_cache)
    zip_path = layout.maestro_cache / "maestro-v3.0.0.zip"
    instance = dg.DagsterInstance.ephemeral()
    resources = _resources(layout, source=zip_path)
    keys = _register(instance, resources)[:2]

    wrong = _run_tier(instance, resources, keys, ["maestro_audio"], _audio_config(True, "0" * 64))
    assert not wrong.success
    failure = next(e for e in wrong.all_events if e.is_step_failure)
    message = failure.step_failure_data.user_failure_data.description
    assert "does not match the expected" in message and str(zip_path) in message
    assert _materialized(instance, "maestro_audio") == set()

    digest = sha256_file(zip_path)
    right = _run_tier(instance, resources, keys, ["maestro_audio"], _audio_config(True, digest))
    assert right.success
    assert _materialized(instance, "maestro_audio") == set(keys)
    for key in keys:
        provenance = AudioProvenance.model_validate_json(
            MaestroPaths(layout).audio_provenance(key).read_text()
        )
        assert provenance.source_kind == "zip"
        assert provenance.member.startswith("maestro-v3.0.0/")
    # Members were streamed one at a time and removed; nothing else was extracted.
    members_dir = layout.downloads / "maestro" / "members"
    assert not members_dir.exists() or list(members_dir.iterdir()) == []
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
    recordings = adapter.load_recordings(MaestroPaths(layout))
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


def test_per_recording_assets_are_batched_and_pooled() -> None:
    from piano_assets.maestro.assets import maestro_audio_and_embeddings
    from piano_assets.settings import load_settings

    policy = maestro_audio_and_embeddings.backfill_policy
    assert policy is not None
    assert policy.max_partitions_per_run == load_settings().backfill_partitions_per_run
    assert maestro_audio_and_embeddings.can_subset
    assert maestro_audio_and_embeddings.op.pool == "muq"
    specs = {spec.key.to_user_string(): spec for spec in maestro_audio_and_embeddings.specs}
    assert set(specs) == set(TIER_KEYS)
    assert {spec.group_name for spec in specs.values()} == {"maestro"}
    assert [dep.asset_key for dep in specs["maestro_muq_embeddings"].deps] == [
        dg.AssetKey("maestro_audio")
    ]


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
        [*maestro_assets, *maestro_checks],
        instance=instance,
        resources=resources,
        selection=DOWNSTREAM,
        raise_on_error=False,
    )
    assert not result.success
    check = next(
        e
        for e in result.get_asset_check_evaluations()
        if e.check_name == "maestro_every_recording_embedded"
    )
    assert not check.passed
    assert "2/6 registered recordings embedded" in check.description
    assert keys[2] in check.description
    # The blocking check stopped the pairs in this run.
    assert result.asset_materializations_for_node("maestro_contrastive_pairs") == []
    map_meta = _metadata(result, "maestro_piece_performer_map")
    assert map_meta["recordings_covered"] == 2
