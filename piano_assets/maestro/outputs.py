"""The MAESTRO tier's outputs across recordings, without Dagster: the piece→performer map (with
the work identity) and the contrastive pairs over the stored segments."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from piano_assets.engine.files import atomic_write_text, sha256_file
from piano_assets.lib.markdown import markdown_table
from piano_assets.maestro import records
from piano_assets.maestro.coverage import EmbeddingCoverage, combined_label, embedding_coverage
from piano_assets.maestro.metadata import MaestroMetadataError, read_maestro_metadata
from piano_assets.maestro.pairs import PairPolicy, build_pairs, pair_problems, pair_stats
from piano_assets.maestro.paths import MaestroPaths
from piano_assets.maestro.pieces import (
    NORMALIZATION_RULE,
    PERFORMER_PROXY_RULE,
    PieceStats,
    build_piece_map,
    find_atepp_metadata,
    piece_stats,
    read_atepp_performers,
    split_leakage,
    unresolved_titles,
    works_report,
)
from piano_assets.maestro.plots import recordings_per_work_png
from piano_assets.maestro.recordings import load_recordings
from piano_assets.maestro.tables import validate_rows, write_parquet
from piano_assets.maestro.works import WORK_RULE

_SHOWN = 25

# -- piece → performer map -------------------------------------------------------------------


def _parquet_metadata(label: str) -> dict[str, str]:
    return {
        "normalization_rule": NORMALIZATION_RULE,
        "work_rule": WORK_RULE,
        "performer_proxy": PERFORMER_PROXY_RULE,
        "embedder": label,
    }


def map_from_metadata(metadata: Path) -> pl.DataFrame:
    """The piece map of a MAESTRO metadata file alone (no audio: nothing embedded)."""
    recordings = read_maestro_metadata(metadata)
    piece_map = build_piece_map(recordings).with_columns(
        pl.lit(value=False).alias("embedded"), pl.lit(0, dtype=pl.Int64()).alias("segments")
    )
    validate_rows(piece_map, records.PieceRow, str(metadata))
    return piece_map


def write_map_from_metadata(metadata: Path, target: Path) -> PieceStats:
    """`piano-assets maestro-map`: the map of a metadata file, written atomically as Parquet
    (rows sorted, so two runs on one file give equal tables for a CI diff)."""
    piece_map = map_from_metadata(metadata)
    write_parquet(piece_map, target, _parquet_metadata("none (metadata only)"))
    return piece_stats(piece_map)


def build_piece_map_stage(paths: MaestroPaths) -> tuple[records.PieceMapManifest, dict[str, Any]]:
    recordings = load_recordings(paths)
    ids = recordings["recording_id"].to_list()
    performers, atepp = read_atepp_performers(find_atepp_metadata(paths.atepp_cache), set(ids))
    if atepp.path:
        atepp = atepp.model_copy(update={"path": paths.relative(atepp.path)})
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
        piece_map, paths.piece_map_table, _parquet_metadata(label.label if label else "none")
    )
    recordings_per_work_png(piece_map, paths.works_plot)
    unresolved = unresolved_titles(piece_map)
    manifest = records.PieceMapManifest(
        table=paths.relative(paths.piece_map_table),
        table_sha256=digest,
        normalization_rule=NORMALIZATION_RULE,
        performer_proxy=PERFORMER_PROXY_RULE,
        stats=stats,
        leakage=split_leakage(piece_map),
        unresolved_titles=[
            f"{composer} :: {title}"
            for composer, title in unresolved.select("canonical_composer", "canonical_title").rows()
        ],
        plot=paths.relative(paths.works_plot),
        atepp=atepp,
        recordings_covered=len(coverage.embedded),
        recordings_missing_embeddings=sorted(set(ids) - set(coverage.embedded)),
        segments=coverage.segments,
        embedded_hours=round(coverage.seconds / 3600, 3),
        embedder=label,
    )
    atomic_write_text(paths.piece_map_manifest, manifest.model_dump_json(indent=2) + "\n")
    return manifest, _piece_map_metadata(paths, piece_map, manifest)


def _embedder_metadata(embedder: records.EmbedderLabel | None) -> dict[str, Any]:
    """Which embedder made the embeddings, and whether it is a random-weight MuQ."""
    return {
        "embedder": embedder.label if embedder else "none",
        "random_weights": bool(embedder and embedder.random_weights),
    }


def _piece_map_metadata(
    paths: MaestroPaths, piece_map: pl.DataFrame, manifest: records.PieceMapManifest
) -> dict[str, Any]:
    import dagster as dg

    stats = manifest.stats
    works = works_report(piece_map).head(_SHOWN)
    unresolved = unresolved_titles(piece_map)
    overrides = (
        piece_map.filter(pl.col("resolution") == "override")
        .group_by("maestro_error")
        .agg(pl.col("canonical_title").n_unique().alias("titles"), pl.len().alias("recordings"))
        .sort("titles", descending=True)
    )
    return {
        "raw_titles": stats.raw_pieces,
        "normalized_titles": stats.pieces,
        "works": stats.works,
        "works_with_2_plus_performers": stats.works_with_2_plus_performers,
        "titles_unresolved": stats.titles_unresolved,
        "recordings_unresolved": stats.recordings_unresolved,
        "titles_by_rule": stats.titles_resolved_by_rule,
        "titles_by_override": stats.titles_resolved_by_override,
        "recitals": stats.recitals,
        "performances": stats.performances,
        "multi_part_performances": stats.multi_part_performances,
        "performances_demoted_by_duration": stats.performances_demoted_by_duration,
        "recordings": stats.recordings,
        "recordings_covered": manifest.recordings_covered,
        "hours": stats.hours,
        "embedded_hours": manifest.embedded_hours,
        "segments": manifest.segments,
        "recordings_with_performer_names": stats.recordings_with_performer_names,
        "atepp": manifest.atepp.note or f"joined from {manifest.atepp.path}",
        "performer_proxy": PERFORMER_PROXY_RULE,
        "work_rule": WORK_RULE,
        **_embedder_metadata(manifest.embedder),
        "table": dg.MetadataValue.path(str(paths.piece_map_table)),
        "recordings_per_work_plot": dg.MetadataValue.path(str(paths.works_plot)),
        "grouping": dg.MetadataValue.md(
            f"Raw (composer, title): **{stats.raw_pieces}** → normalized titles: "
            f"**{stats.pieces}** → works: **{stats.works}** (+ {stats.titles_unresolved} "
            f"unresolved titles, {stats.recordings_unresolved} recordings). Titles resolved by "
            f"rule {stats.titles_resolved_by_rule}, by reviewed override "
            f"{stats.titles_resolved_by_override}. Works with 2+ performers (recitals): "
            f"**{stats.works_with_2_plus_performers}** "
            f"({stats.recordings_in_works_with_2_plus_performers} recordings). "
            f"{stats.works_merging_2_plus_pieces} works join 2+ normalized titles.\n\n"
            + markdown_table(
                rows=works.select(
                    "recordings",
                    "performers",
                    "work_id",
                    "work_composer",
                    "raw_titles",
                    "scopes",
                    "splits",
                ).rows(),
                header=[
                    "recordings",
                    "performers",
                    "work",
                    "composer",
                    "raw titles",
                    "scopes",
                    "splits",
                ],
            )
        ),
        "overrides_by_error": dg.MetadataValue.md(
            markdown_table(rows=overrides.rows(), header=["MAESTRO error", "titles", "recordings"])
        ),
        "unresolved_titles": dg.MetadataValue.md(
            markdown_table(
                rows=unresolved.rows(), header=["composer", "title", "recordings", "why unresolved"]
            )
            if unresolved.height
            else "every title resolved"
        ),
        "split_leakage": dg.MetadataValue.json(manifest.leakage.model_dump()),
    }


# -- contrastive pairs -----------------------------------------------------------------------


def pairs_inputs(paths: MaestroPaths) -> tuple[pl.DataFrame, EmbeddingCoverage]:
    """The map's embedded recordings and their stored segments (what pairs are built from).

    The map decides which recordings take part; a recording it calls embedded whose
    embeddings are gone means the map is stale, which is an error, not a silent drop.
    """
    piece_map = pl.read_parquet(paths.piece_map_table)
    missing = sorted(set(records.PieceRow.model_fields) - set(piece_map.columns))
    if missing:
        raise MaestroMetadataError(
            f"{paths.piece_map_table} lacks {missing} (an older map): materialize "
            "maestro_piece_performer_map again"
        )
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
    map_digest = sha256_file(paths.piece_map_table)
    covered_map, coverage = pairs_inputs(paths)
    pairs = build_pairs(coverage.table, covered_map, policy)
    problems = pair_problems(
        pairs, set(coverage.table["segment_id"]), policy.allow_cross_split, covered_map
    )
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
            "piece_map_sha256": map_digest,
        },
    )
    manifest = records.PairsManifest(
        table=paths.relative(paths.pairs_table),
        table_sha256=digest,
        piece_map=paths.relative(paths.piece_map_table),
        piece_map_sha256=map_digest,
        leakage=split_leakage(covered_map),
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
        "positives_performer_assumed": stats.positives_performer_assumed,
        "cross_split_pairs": stats.cross_split_pairs,
        "pairs_per_pool": dg.MetadataValue.json(stats.pools),
        "seed": manifest.policy.seed,
        "policy": dg.MetadataValue.json(manifest.policy.model_dump()),
        "segments_available": manifest.segments_available,
        "recordings_covered": manifest.recordings_covered,
        "piece_map_sha256": manifest.piece_map_sha256,
        **_embedder_metadata(manifest.embedder),
        "table": dg.MetadataValue.path(str(paths.pairs_table)),
        "split_leakage": dg.MetadataValue.md(
            f"MAESTRO's own leakage among the recordings paired: "
            f"**{manifest.leakage.works_in_2_plus_splits}** works in 2+ splits "
            f"({manifest.leakage.recordings_in_works_in_2_plus_splits} recordings), "
            f"**{manifest.leakage.performances_across_splits}** performances whose files lie in "
            f"2+ splits, {manifest.leakage.recitals_across_splits} recitals across splits. "
            + (
                "Pairs stay within one split (allow_cross_split: false)."
                if not manifest.policy.allow_cross_split
                else "allow_cross_split is on: pairs may cross splits."
            )
            + "\n\n"
            + "\n".join(f"* {example}" for example in manifest.leakage.examples)
        ),
        "performer_relations": dg.MetadataValue.md(
            markdown_table(rows=relations.rows(), header=["label", "performer relation", "pairs"])
        ),
        "preview": dg.MetadataValue.md(
            markdown_table(
                rows=pairs.select(
                    "label", "anchor_work_id", "anchor_segment_id", "other_segment_id"
                )
                .head(10)
                .rows(),
                header=["label", "work", "anchor", "other"],
            )
        ),
    }
