"""Tier-level checks of the `maestro` group: unpartitioned, looking across every recording."""

from collections.abc import Callable

import dagster as dg
import polars as pl

from piano_assets.engine.files import sha256_file
from piano_assets.maestro import outputs, recordings
from piano_assets.maestro.adapter import ADAPTER
from piano_assets.maestro.assets import (
    maestro_contrastive_pairs,
    maestro_piece_performer_map,
    maestro_recordings,
)
from piano_assets.maestro.metadata import MaestroMetadataError
from piano_assets.maestro.pairs import (
    build_pairs,
    negatives_within_a_work,
    pair_problems,
    pairs_across_splits,
    positives_across_scopes,
)
from piano_assets.maestro.paths import MaestroPaths
from piano_assets.maestro.pieces import unresolved_titles
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
    performers = table.group_by("piece_id").agg(pl.col("performance_id").n_unique().alias("n"))
    multi = performers.filter(pl.col("n") >= 2).height
    covered = int(table["embedded"].sum())
    works = table["work_id"].drop_nulls().n_unique()
    expected = {
        "works": (manifest.stats.works, works),
        "pieces": (manifest.stats.pieces, pieces),
        "multi_performance_pieces": (manifest.stats.multi_performance_pieces, multi),
        "recordings": (manifest.stats.recordings, table.height),
        "recordings_covered": (manifest.recordings_covered, covered),
    }
    problems += [f"{k}: manifest {a} != table {b}" for k, (a, b) in expected.items() if a != b]
    return dg.AssetCheckResult(
        passed=not problems,
        description="; ".join(problems)
        or f"{works} works from {pieces} normalized titles ({multi} with 2+ performances)",
        metadata={
            "works": works,
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
    pairs, manifest = _pairs(paths)
    try:
        piece_map, coverage = outputs.pairs_inputs(paths)
    except MaestroMetadataError as err:
        return dg.AssetCheckResult(passed=False, description=str(err))
    segments = coverage.table
    problems = pair_problems(
        pairs, set(segments["segment_id"]), manifest.policy.allow_cross_split, piece_map
    )
    map_digest = sha256_file(paths.piece_map_table)
    if map_digest != manifest.piece_map_sha256:
        problems.append(
            "the piece map changed since the pairs were built (sha256 "
            f"{manifest.piece_map_sha256[:12]} then, {map_digest[:12]} now): rebuild the pairs"
        )
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
            "piece_map_sha256": manifest.piece_map_sha256,
            "embedder": label,
        },
    )


@dg.asset_check(
    asset=maestro_piece_performer_map,
    description="Every MAESTRO title has a work identity (by rule or reviewed override); "
    "fails (as a warning) with the count of unresolved titles, listed with the reason.",
)
def maestro_titles_resolved(model_repo: ModelRepoResource) -> dg.AssetCheckResult:
    paths = MaestroPaths(model_repo.layout())
    table = pl.read_parquet(paths.piece_map_table)
    unresolved = unresolved_titles(table)
    recordings = int(unresolved["recordings"].sum()) if unresolved.height else 0
    titles = table.select("canonical_composer", "canonical_title").n_unique()
    # A warning, not an error: unresolved titles take no positives and guard their composer's
    # negatives, so the pairs stay right; the list says what a reviewer should look at.
    return dg.AssetCheckResult(
        passed=unresolved.height == 0,
        severity=dg.AssetCheckSeverity.WARN,
        description=(
            f"{unresolved.height} of {titles} titles unresolved ({recordings} recordings; "
            "never guessed: they take no positive pairs and guard their composer's negatives)"
            if unresolved.height
            else f"all {titles} titles resolved to a work"
        ),
        metadata={
            "titles": titles,
            "unresolved_titles": unresolved.height,
            "unresolved_recordings": recordings,
            "unresolved": dg.MetadataValue.md(
                "\n".join(
                    f"* {c} :: {t} ({n}) — {why}" for c, t, n, why in unresolved.head(_SHOWN).rows()
                )
                or "none"
            ),
        },
    )


def _pairs(paths: MaestroPaths) -> tuple[pl.DataFrame, PairsManifest]:
    pairs = pl.read_parquet(paths.pairs_table)
    return pairs, PairsManifest.model_validate_json(paths.pairs_manifest.read_text("utf-8"))


def _pairs_and_map(paths: MaestroPaths) -> tuple[pl.DataFrame, pl.DataFrame, PairsManifest]:
    pairs, manifest = _pairs(paths)
    return pairs, pl.read_parquet(paths.piece_map_table), manifest


def _examples(frame: pl.DataFrame) -> list[list[str | None]]:
    columns = ["label", "anchor_segment_id", "other_segment_id", "anchor_work_id", "other_work_id"]
    return [list(row) for row in frame.select(columns).head(5).rows()]


def _pair_rule_result(
    model_repo: ModelRepoResource,
    label: str,
    find_breaches: Callable[[pl.DataFrame, pl.DataFrame], pl.DataFrame],
    breach: str,
    breaches_key: str,
) -> dg.AssetCheckResult:
    """The pairs of one `label` that break a rule, judged from the piece map."""
    pairs, piece_map, _ = _pairs_and_map(MaestroPaths(model_repo.layout()))
    bad = find_breaches(pairs, piece_map)
    labelled = int((pairs["label"] == label).sum())
    return dg.AssetCheckResult(
        passed=bad.is_empty(),
        description=f"{bad.height} of {labelled} {label}s {breach}",
        metadata={f"{label}s": labelled, breaches_key: bad.height,
                  "examples": dg.MetadataValue.json(_examples(bad))},
    )  # fmt: skip


@dg.asset_check(
    asset=maestro_contrastive_pairs,
    blocking=True,
    description="No negative pair joins one work at any scope (nor its set, a version, or an "
    "unresolved title of the same composer), judged from the piece map.",
)
def maestro_no_negative_within_work(model_repo: ModelRepoResource) -> dg.AssetCheckResult:
    return _pair_rule_result(
        model_repo, "negative", negatives_within_a_work, "join related works", "within_a_work"
    )


@dg.asset_check(
    asset=maestro_contrastive_pairs,
    blocking=True,
    description="Every positive pair joins one work at one known scope (same movements), from "
    "two recitals: never a movement against a whole work, an excerpt or an unresolved title.",
)
def maestro_no_positive_across_scopes(model_repo: ModelRepoResource) -> dg.AssetCheckResult:
    return _pair_rule_result(
        model_repo,
        "positive",
        positives_across_scopes,
        "are not one work at one scope",
        "across_scopes",
    )


@dg.asset_check(
    asset=maestro_contrastive_pairs,
    blocking=True,
    description="No pair joins two splits (train/validation/test), judged from the piece map, "
    "unless the pairs were built with allow_cross_split.",
)
def maestro_pairs_respect_splits(model_repo: ModelRepoResource) -> dg.AssetCheckResult:
    pairs, piece_map, manifest = _pairs_and_map(MaestroPaths(model_repo.layout()))
    crossing = pairs_across_splits(pairs, piece_map)
    allowed = manifest.policy.allow_cross_split
    return dg.AssetCheckResult(
        passed=allowed or crossing.is_empty(),
        description=f"{crossing.height} of {pairs.height} pairs cross splits"
        + (" (allowed by allow_cross_split)" if allowed else ""),
        metadata={"pairs": pairs.height, "crossing": crossing.height,
                  "allow_cross_split": allowed,
                  "examples": dg.MetadataValue.json(_examples(crossing))},
    )  # fmt: skip


maestro_checks = [
    maestro_recordings_registered,
    maestro_piece_map_consistent,
    maestro_pairs_valid,
    maestro_titles_resolved,
    maestro_no_negative_within_work,
    maestro_no_positive_across_scopes,
    maestro_pairs_respect_splits,
]
