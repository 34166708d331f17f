"""The Chopin 2021 tier's outputs across recordings, without Dagster: the resolved results,
metadata.jsonl (one line per embedded segment) and results.jsonl, and what the readiness gate
and the checks judge of them. The per-recording work is the tier factory's (`adapter.py`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from piano_assets.chopin2021.catalog import (
    CatalogError,
    RecordingSpec,
    catalog_by_key,
    read_catalog,
)
from piano_assets.chopin2021.derive import published_results
from piano_assets.chopin2021.paths import Chopin2021Paths
from piano_assets.chopin2021.records import (
    ResultRecord,
    SegmentProvenance,
    SegmentRecord,
    segment_records,
)
from piano_assets.chopin2021.results import CompetitionResults, PerformerResult
from piano_assets.engine import embedding_path, read_provenance
from piano_assets.engine.files import atomic_path
from piano_assets.engine.store import load_segments
from piano_assets.lib.jsonl import read_jsonl, write_jsonl

__all__ = ["RecordingSpec"]


class TierError(RuntimeError):
    """A recording cannot go through a stage; the message names the recording and the cause."""


def read_results(path: Path) -> CompetitionResults:
    """The resolved results written by `chopin2021_results`."""
    return results_from_rows(read_jsonl(path, ResultRecord))


def spec_for(
    catalog: Mapping[str, RecordingSpec], recording_id: str, paths: Chopin2021Paths
) -> RecordingSpec:
    spec = catalog.get(recording_id)
    if spec is None:
        raise CatalogError(
            f"recording {recording_id} is registered but not in {paths.catalog}: "
            "materialize chopin2021_video_catalog again"
        )
    return spec


def results_from_rows(rows: list[ResultRecord]) -> CompetitionResults:
    return CompetitionResults(
        source="resolved",
        performers=tuple(PerformerResult.from_facts(row.performer, row) for row in rows),
    )


@dataclass
class WrittenMetadata:
    segments: list[SegmentRecord]
    results: CompetitionResults
    missing: list[str]
    embedder_label: str


def write_metadata(paths: Chopin2021Paths, registered: list[str]) -> WrittenMetadata:
    """metadata.jsonl (one line per embedded segment) and results.jsonl, written together."""
    resolved_rows = published_results(paths)  # resolved, then the derived stage I pianists
    results = results_from_rows(resolved_rows)
    catalog = catalog_by_key(read_catalog(paths.catalog))
    rows: list[SegmentRecord] = []
    missing: list[str] = []
    label = ""
    for recording_id in registered:
        spec = catalog.get(recording_id)
        path = embedding_path(paths.embeddings_dir, recording_id)
        if spec is None or not path.is_file():
            missing.append(recording_id)
            continue
        provenance = read_provenance(path)
        label = provenance.get("embedder_label", label)
        performer = results.find(spec.performer)
        resolved = next((r for r in resolved_rows if r.performer == spec.performer), None)
        rows.extend(
            segment_records(
                spec,
                performer,
                [(s.index, s.start_s, s.end_s) for s in load_segments(path)],
                embedding_file=str(path.relative_to(paths.root)),
                provenance=SegmentProvenance(
                    video_id=spec.video_id,
                    video_title=spec.title,
                    results_source=resolved.source if resolved else "catalog",
                    results_citations=list(resolved.citations) if resolved else [],
                    audio_sha256=provenance.get("audio_sha256"),
                    source_sha256=provenance.get("source_sha256"),
                    model_id=provenance.get("model_id"),
                    embedder=provenance.get("embedder_label", ""),
                    embedder_is_random=provenance.get("random_weights") == "true",
                ),
            )
        )
    # Both files go to temporary names first and are renamed together at the end, so a crash
    # never leaves a new metadata.jsonl beside an old results.jsonl.
    with atomic_path(paths.metadata) as metadata_tmp, atomic_path(paths.results) as results_tmp:
        write_jsonl(metadata_tmp, rows)
        write_jsonl(results_tmp, resolved_rows)
    return WrittenMetadata(rows, results, missing, label)


def recordings_without_metadata(paths: Chopin2021Paths, registered: list[str]) -> list[str]:
    """Registered recordings with no line in metadata.jsonl (all of them when it is missing)."""
    if not paths.metadata.is_file():
        return list(registered)
    in_metadata = {row.recording_id for row in read_jsonl(paths.metadata, SegmentRecord)}
    return [recording_id for recording_id in registered if recording_id not in in_metadata]
