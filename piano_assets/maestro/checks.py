"""Tier-level checks of the `maestro` group: unpartitioned, looking across every recording."""

import dagster as dg
import polars as pl

from piano_assets.maestro import outputs, recordings
from piano_assets.maestro.adapter import ADAPTER
from piano_assets.maestro.assets import (
    maestro_contrastive_pairs,
    maestro_piece_performer_map,
    maestro_recordings,
)
from piano_assets.maestro.metadata import MaestroMetadataError
from piano_assets.maestro.pairs import build_pairs, pair_problems
from piano_assets.maestro.paths import MaestroPaths
from piano_assets.maestro.records import PairRow, PairsManifest, PieceMapManifest, PieceRow
from piano_assets.maestro.tables import validate_rows
from piano_assets.resources import ModelRepoResource

_SHOWN = 20


@dg.asset_check(
    asset=maestro_recordings,
    blocking=True,
    description="Every recording of the metadata is a registered maestro_recordings partition.",
)
def maestro_recordings_registered(
    context: dg.AssetCheckExecutionContext, model_repo: ModelRepoResource
) -> dg.AssetCheckResult:
    table = recordings.load_recordings(MaestroPaths(model_repo.layout()))
    registered = set(context.instance.get_dynamic_partitions(ADAPTER.names.partitions))
    ids = set(table["recording_id"])
    missing, stale = sorted(ids - registered), sorted(registered - ids)
    return dg.AssetCheckResult(
        passed=not missing,
        description=(
            f"{len(ids)} recordings, {len(registered)} partitions registered"
            + (f"; {len(missing)} not registered" if missing else "")
            + (f"; {len(stale)} partitions no longer in the metadata" if stale else "")
        ),
        metadata={
            "recordings": len(ids),
            "registered": len(registered),
            "not_registered": dg.MetadataValue.json(missing[:_SHOWN]),
            "not_in_metadata": dg.MetadataValue.json(stale[:_SHOWN]),
        },
    )


@dg.asset_check(
    asset=maestro_piece_performer_map,
    description="The map's rows follow the schema and its stats (pieces, multi-performance "
    "pieces, recordings covered, hours) agree with the table.",
)
def maestro_piece_map_consistent(model_repo: ModelRepoResource) -> dg.AssetCheckResult:
    paths = MaestroPaths(model_repo.layout())
    table = pl.read_parquet(paths.piece_map_table)
    manifest = PieceMapManifest.model_validate_json(paths.piece_map_manifest.read_text("utf-8"))
    problems: list[str] = []
    try:
        validate_rows(table, PieceRow, str(paths.piece_map_table))
    except ValueError as err:
        problems.append(str(err))
    pieces = table["piece_id"].n_unique()
    multi = table.group_by("piece_id").agg(pl.col("performance_id").n_unique().alias("n"))
    multi = multi.filter(pl.col("n") >= 2).height
    covered = int(table["embedded"].sum())
    expected = {
        "pieces": (manifest.stats.pieces, pieces),
        "multi_performance_pieces": (manifest.stats.multi_performance_pieces, multi),
        "recordings": (manifest.stats.recordings, table.height),
        "recordings_covered": (manifest.recordings_covered, covered),
    }
    problems += [f"{k}: manifest {a} != table {b}" for k, (a, b) in expected.items() if a != b]
    return dg.AssetCheckResult(
        passed=not problems,
        description="; ".join(problems) or f"{pieces} pieces ({multi} with 2+ performances)",
        metadata={
            "pieces": pieces,
            "multi_performance_pieces": multi,
            "recordings_covered": covered,
            "hours": manifest.stats.hours,
        },
    )


@dg.asset_check(
    asset=maestro_contrastive_pairs,
    blocking=True,
    description="Pairs reference stored segments, never cross splits (unless allowed), are "
    "labelled right, and are reproduced exactly from their seed.",
)
def maestro_pairs_valid(model_repo: ModelRepoResource) -> dg.AssetCheckResult:
    paths = MaestroPaths(model_repo.layout())
    pairs = pl.read_parquet(paths.pairs_table)
    manifest = PairsManifest.model_validate_json(paths.pairs_manifest.read_text("utf-8"))
    try:
        piece_map, coverage = outputs.pairs_inputs(paths)
    except MaestroMetadataError as err:
        return dg.AssetCheckResult(passed=False, description=str(err))
    segments = coverage.table
    problems = pair_problems(pairs, set(segments["segment_id"]), manifest.policy.allow_cross_split)
    try:
        validate_rows(pairs, PairRow, str(paths.pairs_table))
    except ValueError as err:
        problems.append(str(err))
    rebuilt = build_pairs(segments, piece_map, manifest.policy)
    reproducible = rebuilt.equals(pairs)
    if not reproducible:
        problems.append(f"pairs differ from a rebuild with seed {manifest.policy.seed}")
    label = manifest.embedder.label if manifest.embedder else "no embedder recorded"
    return dg.AssetCheckResult(
        passed=not problems,
        description="; ".join(problems)
        or f"{pairs.height} pairs over {segments.height} stored segments [{label}]",
        metadata={
            "pairs": pairs.height,
            "segments": segments.height,
            "cross_split_pairs": pairs.filter(
                pl.col("anchor_split") != pl.col("other_split")
            ).height,
            "reproducible": reproducible,
            "embedder": label,
        },
    )


maestro_checks = [
    maestro_recordings_registered,
    maestro_piece_map_consistent,
    maestro_pairs_valid,
]
