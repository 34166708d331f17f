"""Contrastive segment pairs over MAESTRO: positives share a work and scope, negatives share
nothing. Dagster-free.

Pairs are between 30 s segments (`{recording_id}_seg{index:03d}`, the engine's ids). A
performance is (recital, work) (see `pieces.py`): its files are its parts, and its segments are
read in order across them.

* Anchors: every segment of a performance that can have positives: a resolved work at a known
  scope (complete, given movements or numbers), with another performance of the same work at
  the same scope, from another recital, in the same pool.
* Positives (`positives_per_anchor`, default 2): other performances of the same work at the
  same scope (same movements), by another recital (another performer by the proxy, or by ATEPP
  names when joined); never a single movement against a complete work, never an excerpt or an
  unresolved title. In each, the segment at the nearest relative position over the whole
  performance, so both sides tend to hold the same music.
* Negatives (`negatives_per_anchor`, default 2): random segments of recordings whose work is
  unrelated to the anchor's: no shared family (catalogue root: the set an étude belongs to, the
  sonata a movement belongs to, a version, an arrangement's original), and, for an unresolved
  title, no shared composer. Never the same work at any scope.
* Pools: one per split, so no pair crosses train/validation/test unless `allow_cross_split`.
* Performer basis: `atepp` when both sides have ATEPP names; otherwise the proxy's
  assumption, marked `performer_assumed`: different recitals of one year (assumption B), or
  different years (unknown performer).
* Randomness: one generator per anchor, seeded by `(seed, anchor id)`: the same inputs give
  the same table in any order, and an anchor's pairs do not depend on the others.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import polars as pl
from pydantic import BaseModel, Field

from piano_assets.maestro.pieces import positive_eligible
from piano_assets.maestro.works import COMPLETE, UNRESOLVED, composer_slugs

PAIR_SCHEMA: dict[str, pl.DataType] = {
    "anchor_segment_id": pl.String(),
    "other_segment_id": pl.String(),
    "label": pl.String(),  # "positive" | "negative"
    "anchor_recording_id": pl.String(),
    "other_recording_id": pl.String(),
    "anchor_performance_id": pl.String(),
    "other_performance_id": pl.String(),
    "anchor_piece_id": pl.String(),
    "other_piece_id": pl.String(),
    "anchor_work_id": pl.String(),
    "other_work_id": pl.String(),
    "anchor_scope": pl.String(),
    "other_scope": pl.String(),
    "anchor_split": pl.String(),
    "other_split": pl.String(),
    "anchor_year": pl.Int64(),
    "other_year": pl.Int64(),
    "performer_relation": pl.String(),
    "performer_assumed": pl.Boolean(),
    "relative_position_gap": pl.Float64(),
}
POSITIVE = "positive"
NEGATIVE = "negative"
ALL_SPLITS_POOL = "all splits"
RELATION_SAME_ATEPP = "same performer (ATEPP)"
RELATION_DIFFERENT_ATEPP = "different performers (ATEPP)"
RELATION_SAME_RECITAL = "same recital (one performer)"
RELATION_SAME_YEAR = "different contestants (assumed: different recitals of one year)"
RELATION_UNKNOWN = "unknown (different years; MAESTRO has no performer names)"
_ASSUMED = {RELATION_SAME_YEAR, RELATION_UNKNOWN}
_MAX_DRAWS_PER_NEGATIVE = 64


class PairPolicy(BaseModel):
    seed: int = 20_181_029  # MAESTRO's release date; any fixed value works
    positives_per_anchor: int = Field(default=2, ge=0)
    negatives_per_anchor: int = Field(default=2, ge=0)
    allow_cross_split: bool = Field(
        default=False,
        description="False keeps every pair within one split (one pool per split).",
    )


class PairStats(BaseModel):
    pairs: int
    positives: int
    negatives: int
    anchors: int
    anchors_short_of_positives: int
    anchors_short_of_negatives: int
    pools: dict[str, int]  # pool -> pairs
    cross_split_pairs: int
    positives_performer_assumed: int
    positives_by_relation: dict[str, int]


@dataclass(frozen=True)
class _Segment:
    segment_id: str
    recording_id: str
    index: int


@dataclass
class _Performance:
    """A performance's segments within one pool, in order across its parts."""

    performance_id: str
    group: tuple[str, str] | None  # (work, scope) when positives may use it
    recital_id: str
    segments: list[_Segment] = field(default_factory=list)

    def position(self, offset: int) -> float:
        return (offset + 0.5) / len(self.segments)

    def nearest(self, position: float) -> tuple[_Segment, float]:
        offset = min(len(self.segments) - 1, int(position * len(self.segments)))
        return self.segments[offset], abs(self.position(offset) - position)


@dataclass(frozen=True)
class WorkGuard:
    """What a recording's work rules out as a negative partner."""

    families: frozenset[str]
    composers: frozenset[str]
    unresolved: bool

    @classmethod
    def of(cls, row: dict) -> WorkGuard:
        composers = {*composer_slugs(row["canonical_composer"])}
        composers |= set(composer_slugs(row.get("work_composer") or row["canonical_composer"]))
        return cls(
            families=frozenset(row.get("work_families") or []),
            composers=frozenset(composers),
            unresolved=row.get("resolution") == UNRESOLVED or not row.get("work_id"),
        )

    def related(self, other: WorkGuard) -> bool:
        """Same work at any scope, same set or version, or an unresolved title of a shared
        composer: never a negative pair."""
        if self.families & other.families:
            return True
        return (self.unresolved or other.unresolved) and bool(self.composers & other.composers)


def _anchor_rng(seed: int, anchor_id: str) -> np.random.Generator:
    digest = int.from_bytes(hashlib.sha256(anchor_id.encode()).digest()[:8], "little")
    return np.random.default_rng([seed, digest])


def build_pairs(
    segments: pl.DataFrame, piece_map: pl.DataFrame, policy: PairPolicy
) -> pl.DataFrame:
    """Pairs between `segments` (columns recording_id, segment_id, segment_index).

    `piece_map` is `pieces.build_piece_map`'s table. Segments of recordings missing from the
    map are an error (the caller decides which recordings are covered).
    """
    unknown = set(segments["recording_id"].unique()) - set(piece_map["recording_id"])
    if unknown:
        raise ValueError(f"segments of recordings not in the piece map: {sorted(unknown)[:5]}")
    info = {row["recording_id"]: row for row in piece_map.iter_rows(named=True)}
    by_recording: dict[str, list[_Segment]] = defaultdict(list)
    ordered = segments.select("recording_id", "segment_id", "segment_index").sort(
        "recording_id", "segment_index"
    )
    for recording_id, segment_id, index in ordered.iter_rows():
        by_recording[recording_id].append(_Segment(segment_id, recording_id, index))

    pools: dict[str, list[str]] = defaultdict(list)
    for recording_id in by_recording:
        pool = ALL_SPLITS_POOL if policy.allow_cross_split else info[recording_id]["split"]
        pools[pool].append(recording_id)

    rows: list[tuple[object, ...]] = []
    for pool in sorted(pools):
        # Parts in performance order, so a performance's segments read through its movements.
        members = sorted(
            pools[pool], key=lambda r: (info[r]["performance_id"], info[r]["part_index"], r)
        )
        rows.extend(_pool_pairs(members, by_recording, info, policy))
    return pl.DataFrame(rows, schema=PAIR_SCHEMA, orient="row")


def _positive_group(row: dict) -> tuple[str, str] | None:
    if row.get("resolution") == UNRESOLVED or not row.get("work_id"):
        return None
    return (row["work_id"], row["scope"]) if positive_eligible(row["scope"]) else None


def _distinct_performers(a: dict, b: dict) -> bool:
    if a["recital_id"] == b["recital_id"]:
        return False
    named_a, named_b = a.get("performer_name"), b.get("performer_name")
    return not (named_a and named_b and named_a == named_b)


def _pool_pairs(
    recordings: list[str],
    by_recording: dict[str, list[_Segment]],
    info: dict[str, dict],
    policy: PairPolicy,
) -> Iterator[tuple[object, ...]]:
    performances: dict[str, _Performance] = {}
    for recording_id in recordings:
        row = info[recording_id]
        performance = performances.setdefault(
            row["performance_id"],
            _Performance(row["performance_id"], _positive_group(row), row["recital_id"]),
        )
        performance.segments.extend(by_recording[recording_id])
    by_group: dict[tuple[str, str], list[str]] = defaultdict(list)
    for perf_id in sorted(performances):
        group = performances[perf_id].group
        if group is not None:
            by_group[group].append(perf_id)
    guards = {r: WorkGuard.of(info[r]) for r in recordings}
    flat = [segment for recording_id in recordings for segment in by_recording[recording_id]]

    for perf_id in sorted(performances):
        anchor_perf = performances[perf_id]
        if anchor_perf.group is None or not anchor_perf.segments:
            continue
        first = info[anchor_perf.segments[0].recording_id]
        others = [
            p
            for p in by_group[anchor_perf.group]
            if p != perf_id
            and performances[p].segments
            and _distinct_performers(first, info[performances[p].segments[0].recording_id])
        ]
        if not others:
            continue
        for offset, anchor in enumerate(anchor_perf.segments):
            anchor_info = info[anchor.recording_id]
            anchor_guard = guards[anchor.recording_id]
            rng = _anchor_rng(policy.seed, anchor.segment_id)
            target = anchor_perf.position(offset)
            chosen = [others[i] for i in rng.permutation(len(others))]
            for other_perf_id in chosen[: policy.positives_per_anchor]:
                other, gap = performances[other_perf_id].nearest(target)
                yield _row(anchor, other, POSITIVE, anchor_info, info[other.recording_id], gap)
            seen: set[int] = set()
            for _ in range(policy.negatives_per_anchor * _MAX_DRAWS_PER_NEGATIVE):
                if len(seen) >= policy.negatives_per_anchor:
                    break
                draw = int(rng.integers(len(flat)))
                other = flat[draw]
                if draw in seen or anchor_guard.related(guards[other.recording_id]):
                    continue
                seen.add(draw)
                yield _row(anchor, other, NEGATIVE, anchor_info, info[other.recording_id], None)


def _row(
    anchor: _Segment,
    other: _Segment,
    label: str,
    anchor_info: dict,
    other_info: dict,
    gap: float | None,
) -> tuple[object, ...]:
    relation = performer_relation(anchor_info, other_info)
    return (
        anchor.segment_id,
        other.segment_id,
        label,
        anchor.recording_id,
        other.recording_id,
        anchor_info["performance_id"],
        other_info["performance_id"],
        anchor_info["piece_id"],
        other_info["piece_id"],
        anchor_info.get("work_id"),
        other_info.get("work_id"),
        anchor_info["scope"],
        other_info["scope"],
        anchor_info["split"],
        other_info["split"],
        anchor_info["year"],
        other_info["year"],
        relation,
        label == POSITIVE and relation in _ASSUMED,
        None if gap is None else round(gap, 6),
    )


def performer_relation(anchor_info: dict, other_info: dict) -> str:
    """What is known about the two performers; never more than the data says."""
    a, b = anchor_info.get("performer_name"), other_info.get("performer_name")
    if a and b:
        return RELATION_SAME_ATEPP if a == b else RELATION_DIFFERENT_ATEPP
    if anchor_info["recital_id"] == other_info["recital_id"]:
        return RELATION_SAME_RECITAL
    if anchor_info["year"] == other_info["year"]:
        return RELATION_SAME_YEAR
    return RELATION_UNKNOWN


def pair_stats(pairs: pl.DataFrame, policy: PairPolicy) -> PairStats:
    anchors = pairs.group_by("anchor_segment_id").agg(
        (pl.col("label") == POSITIVE).sum().alias("pos"),
        (pl.col("label") == NEGATIVE).sum().alias("neg"),
    )
    pool_col = (
        pl.lit(ALL_SPLITS_POOL) if policy.allow_cross_split else pl.col("anchor_split")
    ).alias("pool")
    pools = pairs.group_by(pool_col).len().sort("pool")
    positives = pairs.filter(pl.col("label") == POSITIVE)
    relations = positives.group_by("performer_relation").len().sort("performer_relation")
    return PairStats(
        pairs=pairs.height,
        positives=positives.height,
        negatives=int((pairs["label"] == NEGATIVE).sum()),
        anchors=anchors.height,
        anchors_short_of_positives=anchors.filter(
            pl.col("pos") < policy.positives_per_anchor
        ).height,
        anchors_short_of_negatives=anchors.filter(
            pl.col("neg") < policy.negatives_per_anchor
        ).height,
        pools=dict(pools.iter_rows()),
        cross_split_pairs=pairs.filter(pl.col("anchor_split") != pl.col("other_split")).height,
        positives_performer_assumed=int(positives["performer_assumed"].sum()),
        positives_by_relation=dict(relations.iter_rows()),
    )


# -- invariants ------------------------------------------------------------------------------


def negatives_within_a_work(pairs: pl.DataFrame, piece_map: pl.DataFrame) -> pl.DataFrame:
    """Negative pairs whose recordings are related works (same work, set, version, or an
    unresolved title of a shared composer), judged from the map, not from the pairs' columns."""
    guards = {row["recording_id"]: WorkGuard.of(row) for row in piece_map.iter_rows(named=True)}
    negatives = pairs.filter(pl.col("label") == NEGATIVE)
    bad = [
        guards[a].related(guards[b])
        for a, b in negatives.select("anchor_recording_id", "other_recording_id").iter_rows()
    ]
    return negatives.filter(pl.Series(bad, dtype=pl.Boolean()))


def positives_across_scopes(pairs: pl.DataFrame, piece_map: pl.DataFrame) -> pl.DataFrame:
    """Positive pairs that join different works, scopes the map does not give, excerpts or
    unresolved titles, or one recital with itself."""
    truth = piece_map.select("recording_id", "work_id", "scope", "recital_id", "resolution")
    joined = (
        pairs.filter(pl.col("label") == POSITIVE)
        .join(truth.rename(lambda c: f"a_{c}"), left_on="anchor_recording_id",
              right_on="a_recording_id", how="left")
        .join(truth.rename(lambda c: f"o_{c}"), left_on="other_recording_id",
              right_on="o_recording_id", how="left")
    )  # fmt: skip
    eligible = (pl.col("a_scope") == COMPLETE) | pl.col("a_scope").str.contains(
        r"^(movements|numbers):"
    )
    return joined.filter(
        pl.col("a_work_id").is_null()
        | (pl.col("a_resolution") == UNRESOLVED)
        | (pl.col("a_work_id") != pl.col("o_work_id"))
        | (pl.col("a_scope") != pl.col("o_scope"))
        | (pl.col("anchor_scope") != pl.col("a_scope"))
        | (pl.col("other_scope") != pl.col("o_scope"))
        | ~eligible
        | (pl.col("a_recital_id") == pl.col("o_recital_id"))
    ).select(pairs.columns)


def pairs_across_splits(pairs: pl.DataFrame, piece_map: pl.DataFrame) -> pl.DataFrame:
    """Pairs whose two recordings lie in different splits (by the map)."""
    splits = piece_map.select("recording_id", "split")
    return (
        pairs.join(splits.rename({"split": "a_split"}), left_on="anchor_recording_id",
                   right_on="recording_id", how="left")
        .join(splits.rename({"split": "o_split"}), left_on="other_recording_id",
              right_on="recording_id", how="left")
        .filter(pl.col("a_split") != pl.col("o_split"))
        .select(pairs.columns)
    )  # fmt: skip


def pair_problems(
    pairs: pl.DataFrame,
    known_segments: set[str],
    allow_cross_split: bool,
    piece_map: pl.DataFrame | None = None,
) -> list[str]:
    """What is wrong with a pairs table: unknown segments, crossed splits, mislabelled pairs."""
    problems: list[str] = []
    referenced = set(pairs["anchor_segment_id"]) | set(pairs["other_segment_id"])
    missing = sorted(referenced - known_segments)
    if missing:
        problems.append(f"{len(missing)} referenced segments do not exist, e.g. {missing[:3]}")
    if not allow_cross_split:
        crossed = pairs.filter(pl.col("anchor_split") != pl.col("other_split"))
        if crossed.height:
            problems.append(
                f"{crossed.height} pairs cross splits, e.g. "
                f"{crossed.select('anchor_segment_id', 'other_segment_id').row(0)}"
            )
    same_performance = pairs.filter(
        pl.col("anchor_performance_id") == pl.col("other_performance_id")
    )
    if same_performance.height:
        problems.append(f"{same_performance.height} pairs within one performance")
    bad_pos = pairs.filter(
        (pl.col("label") == POSITIVE)
        & (
            pl.col("anchor_work_id").is_null()
            | (pl.col("anchor_work_id") != pl.col("other_work_id"))
            | (pl.col("anchor_scope") != pl.col("other_scope"))
        )
    )
    bad_neg = pairs.filter(
        (pl.col("label") == NEGATIVE) & (pl.col("anchor_work_id") == pl.col("other_work_id"))
    )
    if bad_pos.height:
        problems.append(f"{bad_pos.height} positives join different works or scopes")
    if bad_neg.height:
        problems.append(f"{bad_neg.height} negatives join the same work")
    if piece_map is not None:
        related = negatives_within_a_work(pairs, piece_map)
        if related.height:
            problems.append(f"{related.height} negatives join related works (same family)")
        across = positives_across_scopes(pairs, piece_map)
        if across.height:
            problems.append(f"{across.height} positives are not one work at one scope")
    return problems
