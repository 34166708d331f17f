"""T4's outputs across recordings, without Dagster: metadata.jsonl (one line per clean segment),
the pairs table (clean and augmented segment ids with the exact parameters that regenerate the
augmented one), and the invariance baseline per augmentation kind (cosine, MSE; table and PNG).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import polars as pl
import torch

from piano_assets.engine.files import atomic_path
from piano_assets.engine.store import load_recording_embeddings
from piano_assets.youtube_piano.augment import (
    AugmentationConfig,
    augmentation_record,
    parameter_problems,
)
from piano_assets.youtube_piano.catalog import read_catalog
from piano_assets.youtube_piano.invariance import (
    augmented_vectors,
    invariance_summary,
    pair_distances,
    plot_invariance,
)
from piano_assets.youtube_piano.paths import YoutubePianoPaths
from piano_assets.youtube_piano.records import (
    PairRow,
    SegmentMetadata,
    metadata_rows,
    pair_rows,
    write_metadata,
    write_pairs,
)


@dataclass
class WrittenOutputs:
    metadata: list[SegmentMetadata] = field(default_factory=list)
    pairs: list[PairRow] = field(default_factory=list)
    distances: pl.DataFrame | None = None
    summary: pl.DataFrame | None = None
    without_clean: list[str] = field(default_factory=list)
    without_augmented: list[str] = field(default_factory=list)
    embedder_labels: set[str] = field(default_factory=set)
    random_weights: bool = False


def write_outputs(
    paths: YoutubePianoPaths, registered: Sequence[str], config: AugmentationConfig
) -> WrittenOutputs:
    """Everything downstream of the embeddings, for the registered recordings that have them."""
    catalog = {video.recording_id: video for video in read_catalog(paths.catalog)}
    recordings = paths.recordings()
    out = WrittenOutputs()
    distances: list[pl.DataFrame] = []
    for recording_id in registered:
        clean_path = recordings.embeddings(recording_id)
        video = catalog.get(recording_id)
        if video is None or not clean_path.is_file():
            out.without_clean.append(recording_id)
            continue
        clean = load_recording_embeddings(clean_path)
        out.embedder_labels.add(clean.provenance.get("embedder_label", "unknown embedder"))
        out.random_weights |= clean.provenance.get("random_weights") == "true"
        versions = [
            v
            for v in range(1, config.versions_per_segment + 1)
            if paths.augmented(recording_id, v).is_file()
        ]
        if len(versions) < config.versions_per_segment:
            out.without_augmented.append(recording_id)
        out.metadata += metadata_rows(
            video,
            clean.segments,
            clean.provenance,
            clean_path.relative_to(paths.root).as_posix(),
            len(versions),
        )
        records = [
            augmentation_record(segment.segment_id, version, config)
            for version in versions
            for segment in clean.segments
        ]
        pairs = pair_rows(recording_id, records)
        out.pairs += pairs
        augmented: dict[str, torch.Tensor] = {}
        for version in versions:
            augmented |= augmented_vectors(
                load_recording_embeddings(paths.augmented(recording_id, version)), version
            )
        distances.append(pair_distances(pairs, clean.by_segment_id(), augmented))
    write_metadata(paths.metadata, out.metadata)
    write_pairs(paths.pairs, out.pairs)
    out.distances = pl.concat(distances) if distances else pair_distances([], {}, {})
    out.summary = invariance_summary(out.distances)
    with atomic_path(paths.invariance) as tmp:
        out.distances.write_parquet(tmp)
    plot_invariance(
        out.distances,
        paths.invariance_plot,
        random_weights=out.random_weights,
        model_label="; ".join(sorted(out.embedder_labels)) or "no embeddings",
    )
    return out


def parameters_out_of_range(pairs: Sequence[PairRow], config: AugmentationConfig) -> list[str]:
    """One line per pair whose recorded parameters leave the configured ranges."""
    problems = []
    for pair in pairs:
        for problem in parameter_problems(pair.record(), config):
            problems.append(f"{pair.augmented_segment_id}: {problem}")
    return problems
