"""Audit of the MAESTRO grouping and pairs, before and after the work identity. Dagster-free.

    python -m piano_assets.maestro.audit ../shared/data/maestro-v3.0.0.csv

*Before* is the grouping of commit c6e2b4f (today's main when the work identity was built):
pieces by normalized title text, one performer per file-name session, negatives guarded by
shared catalogue numbers. It is rebuilt here as a view of the same map (`legacy_view`), and its
pairs are the very pairs that commit built (a test checks it against the old algorithm's
figures). *After* is the work identity. Both are judged with the work identity:

* **groups of the same work still split**: normalized pieces that are one work with another
  piece (counted per extra piece: a work in three pieces counts two), and the works concerned;
* **negatives within a work**: negative pairs whose recordings are related works (same work at
  any scope, its set, a version, or an unresolved title of the same composer); `same work id`
  counts only identical works;
* **positives across scopes**: positive pairs whose two performances hold different parts of
  the work, aligned by relative position: a movement file against a whole sonata, an excerpt,
  an unresolved title, two different works. Of them, *part against whole*: one side the
  complete work, the other a movement, some movement files of a performance, or a performance
  far shorter than the work's others (an excerpt by the duration check); *movement file
  against whole*: the other side is some of the files a recital's performance was cut into.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import polars as pl
from pydantic import BaseModel

from piano_assets.engine import SegmentPolicy
from piano_assets.maestro.coverage import planned_segments
from piano_assets.maestro.metadata import read_maestro_metadata
from piano_assets.maestro.pairs import (
    NEGATIVE,
    POSITIVE,
    PairPolicy,
    WorkGuard,
    build_pairs,
    pair_stats,
)
from piano_assets.maestro.pieces import build_piece_map, piece_stats, positive_eligible
from piano_assets.maestro.works import COMPLETE, RULE, UNRESOLVED

PART = "part"  # a performance that holds only some files of a work's performance


class AuditFigures(BaseModel):
    """One grouping's figures, judged with the work identity."""

    grouping: str
    raw_titles: int
    normalized_titles: int
    groups: int  # what pairs group by: pieces before, works after
    groups_with_2_plus_performers: int
    recordings_in_groups_with_2_plus_performers: int
    groups_of_one_work_still_split: int
    works_split_over_2_plus_groups: int
    positives: int
    negatives: int
    anchors: int
    negatives_within_a_work: int
    negatives_with_the_same_work_id: int
    positives_across_scopes: int
    positives_part_against_whole: int
    positives_movement_file_against_whole: int
    positives_performer_assumed: int


def legacy_view(piece_map: pl.DataFrame) -> pl.DataFrame:
    """The map as commit c6e2b4f grouped it: a piece per normalized title, a performer per
    file-name session, negatives guarded by the piece and its catalogue numbers."""
    return piece_map.with_columns(
        pl.col("piece_id").alias("work_id"),
        pl.col("session_id").alias("recital_id"),
        (pl.col("session_id") + "/" + pl.col("piece_id")).alias("performance_id"),
        pl.lit(COMPLETE).alias("scope"),
        pl.lit(RULE).alias("resolution"),
        pl.concat_list(pl.col("piece_id"), pl.col("catalogue_ids")).alias("work_families"),
    ).with_columns(
        (pl.col("_order").rank("ordinal").over("performance_id") - 1)
        .cast(pl.Int64)
        .alias("part_index")
        if "_order" in piece_map.columns
        else pl.col("part_index")
    )


def _effective_scopes(performances: pl.DataFrame, truth: pl.DataFrame) -> dict[str, str]:
    """Scope of each grouping's performance by the work identity: the true performance's scope
    when it holds all of that performance's files, `part` when it holds some of them."""
    files = performances.select("recording_id", pl.col("performance_id").alias("grouped"))
    joined = files.join(
        truth.select("recording_id", "performance_id", "scope", "work_id", "resolution"),
        on="recording_id",
    )
    true_sizes = truth.group_by("performance_id").len().rename({"len": "true_files"})
    grouped = joined.group_by("grouped").agg(
        pl.col("performance_id").unique().alias("true"),
        pl.len().alias("files"),
        pl.col("scope").first(),
        pl.col("work_id").first(),
        pl.col("resolution").first(),
    )
    scopes: dict[str, str] = {}
    sizes = dict(true_sizes.iter_rows())
    for name, true, files_n, scope, work_id, resolution in grouped.iter_rows():
        if resolution == UNRESOLVED or work_id is None:
            scopes[name] = UNRESOLVED
        elif len(true) == 1 and sizes[true[0]] == files_n:
            scopes[name] = f"{work_id}|{scope}"
        else:
            scopes[name] = f"{work_id}|{PART}"
    return scopes


def judge(pairs: pl.DataFrame, grouped: pl.DataFrame, truth: pl.DataFrame) -> dict[str, int]:
    """Pair figures of one grouping (`grouped`: its map) by the work identity (`truth`)."""
    guards = {row["recording_id"]: WorkGuard.of(row) for row in truth.iter_rows(named=True)}
    works = dict(truth.select("recording_id", "work_id").iter_rows())
    negatives = pairs.filter(pl.col("label") == NEGATIVE)
    ids = negatives.select("anchor_recording_id", "other_recording_id").rows()
    within = sum(guards[a].related(guards[b]) for a, b in ids)
    same_id = sum(works[a] is not None and works[a] == works[b] for a, b in ids)
    scopes = _effective_scopes(grouped, truth)
    positives = pairs.filter(pl.col("label") == POSITIVE)
    across = part_whole = file_whole = 0
    for a, b in positives.select("anchor_performance_id", "other_performance_id").iter_rows():
        sa, sb = scopes[a], scopes[b]
        fine = sa == sb and sa != UNRESOLVED and positive_eligible(sa.split("|")[1])
        if not fine:
            across += 1
            kinds = {sa.split("|")[-1], sb.split("|")[-1]}
            whole = COMPLETE in kinds and len(kinds) == 2 and UNRESOLVED not in kinds
            part_whole += whole
            file_whole += whole and PART in kinds
    return {
        "negatives_within_a_work": within,
        "negatives_with_the_same_work_id": same_id,
        "positives_across_scopes": across,
        "positives_part_against_whole": part_whole,
        "positives_movement_file_against_whole": file_whole,
    }


def _groups(grouped: pl.DataFrame, truth: pl.DataFrame) -> dict[str, int]:
    # An unresolved title is a group of its own, which never pairs positively.
    performers = grouped.group_by(pl.coalesce("work_id", "piece_id")).agg(
        pl.col("recital_id").n_unique().alias("performers"),
        pl.len().alias("recordings"),
        (pl.col("resolution") != UNRESOLVED).all().alias("pairable"),
    )
    multi = performers.filter((pl.col("performers") >= 2) & pl.col("pairable"))
    pairs = grouped.select("recording_id", pl.col("work_id").alias("group")).join(
        truth.select("recording_id", "work_id"), on="recording_id"
    )
    split = (
        pairs.filter(pl.col("work_id").is_not_null())
        .group_by("work_id")
        .agg(pl.col("group").n_unique().alias("groups"))
        .filter(pl.col("groups") >= 2)
    )
    return {
        "groups": performers.height,
        "groups_with_2_plus_performers": multi.height,
        "recordings_in_groups_with_2_plus_performers": int(multi["recordings"].sum()),
        "groups_of_one_work_still_split": int((split["groups"] - 1).sum()),
        "works_split_over_2_plus_groups": split.height,
    }


def audit(
    recordings: pl.DataFrame, policy: PairPolicy | None = None
) -> tuple[AuditFigures, AuditFigures]:
    """Before and after on the metadata alone (segments planned from the durations)."""
    policy = policy or PairPolicy()
    truth = build_piece_map(recordings)
    stats = piece_stats(truth)
    segments = planned_segments(recordings, SegmentPolicy(30.0, 5.0))
    figures = []
    for name, grouped in (("before (c6e2b4f)", legacy_view(truth)), ("after", truth)):
        pairs = build_pairs(segments, grouped, policy)
        counted = pair_stats(pairs, policy)
        figures.append(
            AuditFigures(
                grouping=name,
                raw_titles=stats.raw_pieces,
                normalized_titles=stats.pieces,
                positives=counted.positives,
                negatives=counted.negatives,
                anchors=counted.anchors,
                positives_performer_assumed=counted.positives_performer_assumed,
                **_groups(grouped, truth),
                **judge(pairs, grouped, truth),
            )
        )
    return figures[0], figures[1]


def report(before: AuditFigures, after: AuditFigures) -> str:
    lines = [f"{'':52} {'before':>10} {'after':>10}"]
    for field in AuditFigures.model_fields:
        if field == "grouping":
            continue
        label = field.replace("_", " ")
        lines.append(f"{label:52} {getattr(before, field):>10,} {getattr(after, field):>10,}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("metadata", type=Path, help="maestro-v3.0.0.csv or .json")
    args = parser.parse_args(argv)
    before, after = audit(read_maestro_metadata(args.metadata))
    sys.stdout.write(report(before, after) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
