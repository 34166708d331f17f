"""What the MAESTRO embedding store holds for a set of recordings (header reads only), and which
MuQ made it. Dagster-free."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from piano_assets.engine import SegmentPolicy, embedding_path, plan_segments
from piano_assets.engine.store import load_segments, read_provenance
from piano_assets.maestro import records
from piano_assets.maestro.paths import MaestroPaths


@dataclass
class EmbeddingCoverage:
    """What the store holds for a set of recordings (headers only: cheap)."""

    embedded: list[str]
    segments: int
    seconds: float
    labels: dict[str, records.EmbedderLabel]
    unreadable: dict[str, str]
    table: pl.DataFrame  # recording_id, segment_id, segment_index, start_s, end_s


_SEGMENT_SCHEMA: dict[str, pl.DataType] = {
    "recording_id": pl.String(),
    "segment_id": pl.String(),
    "segment_index": pl.Int64(),
    "start_s": pl.Float64(),
    "end_s": pl.Float64(),
}


def embedding_coverage(paths: MaestroPaths, recording_ids: list[str]) -> EmbeddingCoverage:
    embedded: list[str] = []
    labels: dict[str, records.EmbedderLabel] = {}
    unreadable: dict[str, str] = {}
    rows: list[tuple[str, str, int, float, float]] = []
    for rid in recording_ids:
        path = embedding_path(paths.embeddings_dir, rid)
        if not path.is_file():
            continue
        try:
            provenance = read_provenance(path)
            segments = load_segments(path)
        except (ValueError, OSError, KeyError) as err:
            unreadable[rid] = f"{path}: {err}"
            continue
        embedded.append(rid)
        labels[rid] = label_from_provenance(provenance)
        rows += [(rid, s.segment_id, s.index, s.start_s, s.end_s) for s in segments]
    table = pl.DataFrame(rows, schema=_SEGMENT_SCHEMA, orient="row")
    return EmbeddingCoverage(
        embedded=embedded,
        segments=table.height,
        seconds=float((table["end_s"] - table["start_s"]).sum()) if table.height else 0.0,
        labels=labels,
        unreadable=unreadable,
        table=table,
    )


def label_from_provenance(provenance: Mapping[str, str]) -> records.EmbedderLabel:
    return records.EmbedderLabel(
        name=provenance.get("model_id", "unknown"),
        random_weights=provenance.get("random_weights", "true") != "false",
        label=provenance.get("embedder_label", "unknown embedder (no label stored)"),
    )


def combined_label(coverage: EmbeddingCoverage) -> records.EmbedderLabel | None:
    """One label for a derived output; mixed embedders are named together, random first."""
    labels = {label.label: label for label in coverage.labels.values()}
    if not labels:
        return None
    if len(labels) == 1:
        return next(iter(labels.values()))
    ordered = sorted(labels.values(), key=lambda lab: (not lab.random_weights, lab.label))
    return records.EmbedderLabel(
        name=" + ".join(lab.name for lab in ordered),
        random_weights=any(lab.random_weights for lab in ordered),
        label="MIXED embedders: " + " | ".join(lab.label for lab in ordered),
    )


def planned_segments(recordings: pl.DataFrame, policy: SegmentPolicy) -> pl.DataFrame:
    """The segment table the engine's policy gives for the metadata durations (for sizing)."""
    rows = [
        (s.recording_id, s.segment_id, s.index, s.start_s, s.end_s)
        for rid, duration in recordings.select("recording_id", "duration").iter_rows()
        for s in plan_segments(rid, duration, policy)
    ]
    return pl.DataFrame(rows, schema=_SEGMENT_SCHEMA, orient="row")
