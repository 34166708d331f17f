"""T4 outputs: metadata.jsonl and pairs Parquet records; the invariance baseline on real
(random-weight, labelled) MuQ embeddings stored by the engine."""

from __future__ import annotations

import json
import wave
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from piano_assets.engine import (
    EmbedderConfig,
    RecordingAudio,
    SegmentPolicy,
    build_embedder,
    embed_recordings,
    load_recording_embeddings,
)
from piano_assets.sample.synth import piano_notes
from piano_assets.youtube_piano.augment import AugmentationConfig, SegmentAugmenter
from piano_assets.youtube_piano.catalog import KeptVideo
from piano_assets.youtube_piano.invariance import (
    RANDOM_WEIGHTS_LABEL,
    augmented_vectors,
    embeddings_are_random,
    invariance_markdown,
    invariance_summary,
    pair_distances,
    plot_invariance,
)
from piano_assets.youtube_piano.records import (
    PairRow,
    RecordsError,
    metadata_rows,
    pair_rows,
    read_metadata,
    read_pairs,
    write_metadata,
    write_pairs,
)

SR = 24_000
VIDEO = KeptVideo(
    recording_id="yt-rec1-00000000",
    video_id="Rec1",
    channel_key="hall-a",
    channel_name="Hall A",
    title="Chopin: Ballade No. 1",
    url="https://www.youtube.com/watch?v=Rec1",
    duration_s=12.0,
    passed=["listed on channel 'hall-a'"],
)


def _write_wav(path: Path, samples: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(SR)
        handle.writeframes(pcm.tobytes())
    return path


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Clean and two augmented versions of one 12 s recording, embedded by a tiny random MuQ."""
    root = tmp_path_factory.mktemp("t4-outputs")
    policy = SegmentPolicy(segment_seconds=4.0, min_tail_seconds=1.0)
    clean = piano_notes(12.0, SR, seed=3)
    clean_path = _write_wav(root / "audio" / f"{VIDEO.recording_id}.wav", clean)
    embedder = build_embedder(EmbedderConfig(mode="random", random_size="tiny", batch_size=4))
    config = AugmentationConfig(versions_per_segment=2)
    window = policy.window_samples(SR)
    records = []
    outcomes = embed_recordings(
        [RecordingAudio(VIDEO.recording_id, clean_path)], embedder, root / "clean", policy
    )
    for version in (1, 2):
        augmenter = SegmentAugmenter(config, version)
        pieces = []
        for index, start in enumerate(range(0, len(clean), window)):
            segment_id = f"{VIDEO.recording_id}_seg{index:03d}"
            pieces.append(augmenter(segment_id, clean[start : start + window]))
            records.append(augmenter.parameters_for(segment_id))
        path = _write_wav(
            root / f"aug{version}" / f"{VIDEO.recording_id}.wav", np.concatenate(pieces)
        )
        outcomes += embed_recordings(
            [RecordingAudio(VIDEO.recording_id, path, augmenter.describe())],
            embedder,
            root / f"aug{version}",
            policy,
        )
    assert all(outcome.ok for outcome in outcomes), outcomes
    return {
        "root": root,
        "clean": load_recording_embeddings(outcomes[0].path),
        "augmented": [load_recording_embeddings(o.path) for o in outcomes[1:]],
        "records": records,
    }


def test_metadata_lines_validate_and_round_trip(embedded: dict, tmp_path: Path) -> None:
    clean = embedded["clean"]
    rows = metadata_rows(VIDEO, clean.segments, clean.provenance, "muq_embeddings/x.safetensors", 2)
    assert [row.segment_index for row in rows] == [0, 1, 2]
    assert rows[0].random_weights and rows[0].channel == "hall-a"
    path = tmp_path / "metadata.jsonl"
    assert write_metadata(path, rows) == 3
    assert read_metadata(path) == rows
    line = json.loads(path.read_text().splitlines()[0])
    assert {"recording_id", "channel", "title", "url", "start_s", "end_s", "provenance"} <= set(
        line
    )
    path.write_text(path.read_text() + json.dumps({**line, "surprise": 1}) + "\n")
    with pytest.raises(RecordsError, match=r"metadata.jsonl:4"):
        read_metadata(path)
    with pytest.raises(RecordsError, match="twice"):
        write_metadata(tmp_path / "dup.jsonl", rows + rows[:1])


def test_pairs_parquet_round_trips_and_rejects_tampered_rows(
    embedded: dict, tmp_path: Path
) -> None:
    rows = pair_rows(VIDEO.recording_id, embedded["records"])
    path = tmp_path / "pairs.parquet"
    assert write_pairs(path, rows) == 6
    back = read_pairs(path)
    assert sorted(back, key=lambda r: r.augmented_segment_id) == sorted(
        rows, key=lambda r: r.augmented_segment_id
    )
    assert back[0].record().segment_id == back[0].clean_segment_id
    frame = pl.read_parquet(path)
    assert frame.schema["kinds"] == pl.List(pl.String) and frame.height == 6
    frame.with_columns(pl.lit(7, dtype=pl.UInt64).alias("seed")).write_parquet(
        tmp_path / "bad.parquet"
    )
    with pytest.raises(RecordsError, match="columns disagree"):
        read_pairs(tmp_path / "bad.parquet")
    with pytest.raises(ValueError, match="columns disagree"):
        PairRow(**{**rows[0].model_dump(), "version": 2})


def test_invariance_baseline_per_kind_with_a_labelled_plot(embedded: dict, tmp_path: Path) -> None:
    clean = embedded["clean"]
    augmented: dict = {}
    for version, rec in enumerate(embedded["augmented"], start=1):
        augmented.update(augmented_vectors(rec, version))
    pairs = pair_rows(VIDEO.recording_id, embedded["records"])
    distances = pair_distances(pairs, clean.by_segment_id(), augmented)
    assert distances.height == 6
    assert distances["cosine"].is_between(-1.0, 1.0).all()
    assert (distances["mse"] >= 0).all() and distances["frame_mse"].is_not_null().all()
    # A segment paired with itself is identical: cosine 1, MSE 0 (the metric can tell).
    same = pair_distances(
        pairs[:1],
        clean.by_segment_id(),
        {pairs[0].augmented_segment_id: clean.by_segment_id()[pairs[0].clean_segment_id]},
    )
    assert same["cosine"][0] == pytest.approx(1.0) and same["mse"][0] == 0.0
    summary = invariance_summary(distances)
    assert summary["kind"].to_list() == ["all", "pitch", "eq", "room", "noise", "phone"]
    assert summary.filter(pl.col("kind") == "all")["pairs"][0] == 6
    kinds_used = {kind for pair in pairs for kind in pair.kinds}
    for row in summary.iter_rows(named=True):
        if row["kind"] != "all":
            assert (row["pairs"] > 0) == (row["kind"] in kinds_used)
    provenances = [clean.provenance, *(r.provenance for r in embedded["augmented"])]
    random_weights = embeddings_are_random(provenances)
    assert random_weights
    label = clean.provenance["embedder_label"]
    markdown = invariance_markdown(summary, random_weights=random_weights, model_label=label)
    assert markdown.startswith(f"**{RANDOM_WEIGHTS_LABEL}**") and "| noise |" in markdown
    png = plot_invariance(
        distances, tmp_path / "invariance.png", random_weights=True, model_label=label
    )
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert embedded["augmented"][0].provenance["augmentation_version"] == "1"
