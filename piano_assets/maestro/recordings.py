"""The MAESTRO catalog, without Dagster: the v3 metadata (CSV or column-oriented JSON in
`maestro_cache/`, else inside the configured zip or folder) → the validated recordings table,
one row (and one partition) per recording."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl

from piano_assets.engine.files import atomic_write_text
from piano_assets.lib.markdown import markdown_table
from piano_assets.maestro import records
from piano_assets.maestro.archive import default_source_path, open_audio_source
from piano_assets.maestro.metadata import (
    MaestroMetadataError,
    find_metadata_file,
    parse_maestro_metadata,
    read_maestro_metadata,
)
from piano_assets.maestro.paths import MaestroPaths
from piano_assets.maestro.pieces import build_piece_map, piece_stats
from piano_assets.maestro.tables import write_parquet


def read_source_metadata(paths: MaestroPaths, source_path: Path | None) -> tuple[pl.DataFrame, str]:
    """The v3 metadata from `maestro_cache/`, else from inside the configured source."""
    try:
        found = find_metadata_file(paths.cache)
    except MaestroMetadataError:
        source_path = source_path or default_source_path(paths.cache)
        if source_path is None or not source_path.exists():
            raise
        packed = open_audio_source(source_path).read_metadata()
        if packed is None:
            raise
        member, data = packed
        where = f"{source_path}!{member}" if source_path.is_file() else member
        return parse_maestro_metadata(data, member, source=where), where
    return read_maestro_metadata(found), str(found)


def write_recordings(
    paths: MaestroPaths, frame: pl.DataFrame, source: str
) -> records.RecordingsManifest:
    """The recordings table and its manifest: only what the metadata says (no run history, so
    the same metadata gives the same bytes whatever the instance has seen)."""
    source = paths.relative(source)
    digest = write_parquet(frame, paths.recordings_table, {"metadata_source": source})
    manifest = records.RecordingsManifest(
        metadata_source=source,
        metadata_sha256=digest,
        recordings=frame.height,
        hours=round(float(frame["duration"].sum()) / 3600, 3),
        splits=dict(frame.group_by("split").len().sort("split").iter_rows()),
    )
    atomic_write_text(paths.recordings_manifest, manifest.model_dump_json(indent=2) + "\n")
    return manifest


def load_recordings(paths: MaestroPaths) -> pl.DataFrame:
    if not paths.recordings_table.is_file():
        raise MaestroMetadataError(
            f"{paths.recordings_table} is missing: materialize maestro_recordings first"
        )
    return pl.read_parquet(paths.recordings_table)


def row_of(rows: Mapping[str, Mapping[str, Any]], recording_id: str) -> Mapping[str, Any]:
    row = rows.get(recording_id)
    if row is None:
        raise MaestroMetadataError(
            f"recording {recording_id} is a registered partition but not in "
            f"{records.RECORDINGS_TABLE}: materialize maestro_recordings again"
        )
    return row


def recordings_metadata(
    paths: MaestroPaths,
    frame: pl.DataFrame,
    manifest: records.RecordingsManifest,
    added: list[str],
) -> dict[str, Any]:
    import dagster as dg  # metadata values only; the logic stays Dagster-free

    stats = piece_stats(build_piece_map(frame))
    return {
        "recordings": manifest.recordings,
        "hours": manifest.hours,
        "splits": dg.MetadataValue.json(manifest.splits),
        "partitions_added": len(added),
        "metadata_source": manifest.metadata_source,
        "raw_multi_performance_titles": stats.raw_multi_performance_pieces,
        "normalized_multi_performance_pieces": stats.multi_performance_pieces,
        "performances": stats.performances,
        "table": dg.MetadataValue.path(str(paths.recordings_table)),
        "preview": dg.MetadataValue.md(
            markdown_table(
                rows=frame.select("recording_id", "canonical_composer", "canonical_title", "split")
                .head(10)
                .rows(),
                header=["recording_id", "composer", "title", "split"],
            )
        ),
    }
