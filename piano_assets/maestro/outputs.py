"""The MAESTRO tier's outputs across recordings, without Dagster: the piece→performer map and
the contrastive pairs over the stored segments."""

from __future__ import annotations

from typing import Any

import polars as pl

from piano_assets.engine.files import atomic_write_text
from piano_assets.lib.markdown import markdown_table
from piano_assets.maestro import records
from piano_assets.maestro.coverage import EmbeddingCoverage, combined_label, embedding_coverage
from piano_assets.maestro.metadata import (
    MaestroMetadataError,
)
from piano_assets.maestro.pairs import PairPolicy, build_pairs, pair_problems, pair_stats
from piano_assets.maestro.paths import MaestroPaths
from piano_assets.maestro.pieces import (
    NORMALIZATION_RULE,
    PERFORMER_PROXY_RULE,
    build_piece_map,
    find_atepp_metadata,
    multi_performance_groups,
    normalization_report,
    piece_stats,
    read_atepp_performers,
)
from piano_assets.maestro.recordings import load_recordings
from piano_assets.maestro.tables import validate_rows, write_parquet

# -- piece → performer map -------------------------------------------------------------------


def build_piece_map_stage(paths: MaestroPaths) -> tuple[records.PieceMapManifest, dict[str, Any]]:
    recordings = load_recordings(paths)
    ids = recordings["recording_id"].to_list()
    performers, atepp = read_atepp_performers(find_atepp_metadata(paths.atepp_cache), set(ids))
    coverage = embedding_coverage(paths, ids)
    label = combined_label(coverage)
    per_recording = coverage.table.group_by("recording_id").agg(pl.len().alias("segments"))
    piece_map = (
        build_piece_map(recordings, performers)
        .join(per_recording, on="recording_id", how="left")
        .with_columns(
            pl.col("segments").fill_null(0).cast(pl.Int64),
            pl.col("recording_id").is_in(coverage.embedded).alias("embedded"),
        )
    )
    validate_rows(piece_map, records.PieceRow, str(paths.piece_map_table))
    stats = piece_stats(piece_map)
    digest = write_parquet(
        piece_map,
        paths.piece_map_table,
        {
            "normalization_rule": NORMALIZATION_RULE,
            "performer_proxy": PERFORMER_PROXY_RULE,
            "embedder": label.label if label else "none",
        },
    )
    manifest = records.PieceMapManifest(
        table=str(paths.piece_map_table),
        table_sha256=digest,
        normalization_rule=NORMALIZATION_RULE,
        performer_proxy=PERFORMER_PROXY_RULE,
        stats=stats,
        atepp=atepp,
        recordings_covered=len(coverage.embedded),
        recordings_missing_embeddings=sorted(set(ids) - set(coverage.embedded)),
        segments=coverage.segments,
        embedded_hours=round(coverage.seconds / 3600, 3),
        embedder=label,
    )
    atomic_write_text(paths.piece_map_manifest, manifest.model_dump_json(indent=2) + "\n")
    return manifest, _piece_map_metadata(paths, piece_map, manifest)


def _piece_map_metadata(
    paths: MaestroPaths, piece_map: pl.DataFrame, manifest: records.PieceMapManifest
) -> dict[str, Any]:
    import dagster as dg

    stats = manifest.stats
    merged = normalization_report(piece_map).head(25)
    groups = multi_performance_groups(piece_map).head(25)
    return {
        "pieces": stats.pieces,
        "multi_performance_pieces": stats.multi_performance_pieces,
        "multi_recording_pieces": stats.multi_recording_pieces,
        "raw_titles": stats.raw_pieces,
        "raw_multi_performance_titles": stats.raw_multi_performance_pieces,
        "raw_multi_recording_titles": stats.raw_multi_recording_pieces,
        "performances": stats.performances,
        "multi_part_performances": stats.multi_part_performances,
        "pieces_merged_by_normalization": stats.pieces_merged_by_normalization,
        "recordings": stats.recordings,
        "recordings_covered": manifest.recordings_covered,
        "hours": stats.hours,
        "embedded_hours": manifest.embedded_hours,
        "segments": manifest.segments,
        "recordings_with_performer_names": stats.recordings_with_performer_names,
        "atepp": manifest.atepp.note or f"joined from {manifest.atepp.path}",
        "performer_proxy": PERFORMER_PROXY_RULE,
        "embedder": manifest.embedder.label if manifest.embedder else "none",
        "random_weights": bool(manifest.embedder and manifest.embedder.random_weights),
        "table": dg.MetadataValue.path(str(paths.piece_map_table)),
        "normalization_effect": dg.MetadataValue.md(
            f"Raw titles with 2+ performances: **{stats.raw_multi_performance_pieces}** → "
            f"normalized pieces with 2+ performances: **{stats.multi_performance_pieces}** "
            f"(counting recordings instead: {stats.raw_multi_recording_pieces} → "
            f"{stats.multi_recording_pieces}). {stats.pieces_merged_by_normalization} normalized "
            "pieces merge 2+ raw titles:\n\n"
            + markdown_table(
                rows=merged.select(
                    "performances", "recordings", "piece_key", "raw_titles", "splits"
                ).rows(),
                header=["performances", "recordings", "normalized piece", "raw titles", "splits"],
            )
        ),
        "multi_performance_pieces_table": dg.MetadataValue.md(
            markdown_table(
                rows=groups.select(
                    "performances", "recordings", "piece_key", "raw_titles", "years", "splits"
                ).rows(),
                header=[
                    "performances",
                    "recordings",
                    "piece",
                    "distinct raw titles",
                    "years",
                    "splits",
                ],
            )
        ),
    }


# -- contrastive pairs -----------------------------------------------------------------------


def pairs_inputs(paths: MaestroPaths) -> tuple[pl.DataFrame, EmbeddingCoverage]:
    """The map's embedded recordings and their stored segments (what pairs are built from).

    The map decides which recordings take part; a recording it calls embedded whose
    embeddings are gone means the map is stale, which is an error, not a silent drop.
    """
    piece_map = pl.read_parquet(paths.piece_map_table)
    covered_map = piece_map.filter(pl.col("embedded"))
    coverage = embedding_coverage(paths, covered_map["recording_id"].to_list())
    gone = sorted(set(covered_map["recording_id"]) - set(coverage.embedded))
    if gone:
        raise MaestroMetadataError(
            f"{len(gone)} recordings the piece map calls embedded have no readable embeddings "
            f"now (e.g. {gone[:3]}): materialize maestro_piece_performer_map again"
        )
    return covered_map, coverage


def build_pairs_stage(
    paths: MaestroPaths, policy: PairPolicy
) -> tuple[records.PairsManifest, dict[str, Any]]:
    if not paths.piece_map_table.is_file():
        raise MaestroMetadataError(
            f"{paths.piece_map_table} is missing: materialize maestro_piece_performer_map first"
        )
    covered_map, coverage = pairs_inputs(paths)
    pairs = build_pairs(coverage.table, covered_map, policy)
    problems = pair_problems(pairs, set(coverage.table["segment_id"]), policy.allow_cross_split)
    if problems:
        raise ValueError(f"contrastive pairs are inconsistent: {'; '.join(problems)}")
    validate_rows(pairs, records.PairRow, str(paths.pairs_table))
    label = combined_label(coverage)
    stats = pair_stats(pairs, policy)
    digest = write_parquet(
        pairs,
        paths.pairs_table,
        {
            "policy": policy.model_dump_json(),
            "embedder": label.label if label else "none",
            "performer_proxy": PERFORMER_PROXY_RULE,
        },
    )
    manifest = records.PairsManifest(
        table=str(paths.pairs_table),
        table_sha256=digest,
        policy=policy,
        stats=stats,
        segments_available=coverage.segments,
        recordings_covered=len(coverage.embedded),
        embedder=label,
    )
    atomic_write_text(paths.pairs_manifest, manifest.model_dump_json(indent=2) + "\n")
    return manifest, _pairs_metadata(paths, pairs, manifest)


def _pairs_metadata(
    paths: MaestroPaths, pairs: pl.DataFrame, manifest: records.PairsManifest
) -> dict[str, Any]:
    import dagster as dg

    stats = manifest.stats
    relations = pairs.group_by("label", "performer_relation").len().sort("label", "len")
    return {
        "pairs": stats.pairs,
        "positives": stats.positives,
        "negatives": stats.negatives,
        "anchors": stats.anchors,
        "anchors_short_of_positives": stats.anchors_short_of_positives,
        "cross_split_pairs": stats.cross_split_pairs,
        "pairs_per_pool": dg.MetadataValue.json(stats.pools),
        "seed": manifest.policy.seed,
        "policy": dg.MetadataValue.json(manifest.policy.model_dump()),
        "segments_available": manifest.segments_available,
        "recordings_covered": manifest.recordings_covered,
        "embedder": manifest.embedder.label if manifest.embedder else "none",
        "random_weights": bool(manifest.embedder and manifest.embedder.random_weights),
        "table": dg.MetadataValue.path(str(paths.pairs_table)),
        "performer_relations": dg.MetadataValue.md(
            markdown_table(rows=relations.rows(), header=["label", "performer relation", "pairs"])
        ),
        "preview": dg.MetadataValue.md(
            markdown_table(
                rows=pairs.select("label", "anchor_segment_id", "other_segment_id", "anchor_split")
                .head(10)
                .rows(),
                header=["label", "anchor", "other", "split"],
            )
        ),
    }
