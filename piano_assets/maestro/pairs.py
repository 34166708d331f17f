"""Contrastive segment pairs over MAESTRO: positives share a piece, negatives do not. Dagster-free.

Pairs are between 30 s segments (`{recording_id}_seg{index:03d}`, the engine's ids). A
performance is (session, piece) (see `pieces.py`): its files are its parts, and its segments are
read in order across them.

* Anchors: every segment of a performance whose piece has another performance in the same pool
  (the anchor's split, unless `allow_cross_split`).
* Positives (`positives_per_anchor`, default 2): other performances of the same piece, chosen
  at random without replacement; in each, the segment at the nearest relative position over the
  whole performance (segment 3 of 10 ↔ segment 6 of 20; movement files concatenated), so both
  sides tend to hold the same music. Never two parts of one performance: they are one
  performer and different music.
* Negatives (`negatives_per_anchor`, default 2): random segments of other pieces in the pool,
  never of a piece that shares a catalogue number with the anchor's piece for the same composer
  (guards against title variants the normalization did not merge, e.g. "Op. 53, 1st mov." vs
  "Op. 53, First Movement", and against movements of one work).
* Pools: one per split, so no pair crosses train/validation/test unless asked.
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
    "anchor_split": pl.String(),
    "other_split": pl.String(),
    "anchor_year": pl.Int64(),
    "other_year": pl.Int64(),
    "performer_relation": pl.String(),
    "relative_position_gap": pl.Float64(),
}
POSITIVE = "positive"
NEGATIVE = "negative"
ALL_SPLITS_POOL = "all splits"
RELATION_SAME_ATEPP = "same performer (ATEPP)"
RELATION_DIFFERENT_ATEPP = "different performers (ATEPP)"
RELATION_SAME_SESSION = "same session (likely the same performer)"
RELATION_SAME_YEAR = "different contestants (same piece, same competition year)"
RELATION_UNKNOWN = "unknown (MAESTRO has no performer names)"
_MAX_DRAWS_PER_NEGATIVE = 64


class PairPolicy(BaseModel):
    seed: int = 20_181_029  # MAESTRO's release date; any fixed value works
    positives_per_anchor: int = Field(default=2, ge=0)
    negatives_per_anchor: int = Field(default=2, ge=0)
    allow_cross_split: bool = False


class PairStats(BaseModel):
    pairs: int
    positives: int
    negatives: int
    anchors: int
    anchors_short_of_positives: int
    anchors_short_of_negatives: int
    pools: dict[str, int]  # pool -> pairs
    cross_split_pairs: int


@dataclass(frozen=True)
class _Segment:
    segment_id: str
    recording_id: str
    index: int


@dataclass
class _Performance:
    """A performance's segments within one pool, in order across its parts."""

    performance_id: str
    piece_id: str
    segments: list[_Segment] = field(default_factory=list)

    def position(self, offset: int) -> float:
        return (offset + 0.5) / len(self.segments)

    def nearest(self, position: float) -> tuple[_Segment, float]:
        offset = min(len(self.segments) - 1, int(position * len(self.segments)))
        return self.segments[offset], abs(self.position(offset) - position)


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


def _related_pieces(recordings: list[str], info: dict[str, dict]) -> dict[str, set[str]]:
    """Pieces that must not serve as each other's negatives: same piece or shared catalogue id."""
    pieces_by_catalogue: dict[str, set[str]] = defaultdict(set)
    for recording_id in recordings:
        for ident in info[recording_id]["catalogue_ids"]:
            pieces_by_catalogue[ident].add(info[recording_id]["piece_id"])
    related: dict[str, set[str]] = {}
    for recording_id in recordings:
        piece = info[recording_id]["piece_id"]
        group = related.setdefault(piece, {piece})
        for ident in info[recording_id]["catalogue_ids"]:
            group |= pieces_by_catalogue[ident]
    return related


def _pool_pairs(
    recordings: list[str],
    by_recording: dict[str, list[_Segment]],
    info: dict[str, dict],
    policy: PairPolicy,
) -> Iterator[tuple[object, ...]]:
    performances: dict[str, _Performance] = {}
    for recording_id in recordings:
        perf_id = info[recording_id]["performance_id"]
        performance = performances.setdefault(
            perf_id, _Performance(perf_id, info[recording_id]["piece_id"])
        )
        performance.segments.extend(by_recording[recording_id])
    performances_of_piece: dict[str, list[str]] = defaultdict(list)
    for perf_id in sorted(performances):
        performances_of_piece[performances[perf_id].piece_id].append(perf_id)
    related = _related_pieces(recordings, info)
    flat = [segment for recording_id in recordings for segment in by_recording[recording_id]]
    flat_pieces = [info[s.recording_id]["piece_id"] for s in flat]

    for perf_id in sorted(performances):
        anchor_perf = performances[perf_id]
        others = [p for p in performances_of_piece[anchor_perf.piece_id] if p != perf_id]
        if not others:
            continue
        excluded = related[anchor_perf.piece_id]
        for offset, anchor in enumerate(anchor_perf.segments):
            anchor_info = info[anchor.recording_id]
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
                if draw in seen or flat_pieces[draw] in excluded:
                    continue
                seen.add(draw)
                other = flat[draw]
                yield _row(anchor, other, NEGATIVE, anchor_info, info[other.recording_id], None)


def _row(
    anchor: _Segment,
    other: _Segment,
    label: str,
    anchor_info: dict,
    other_info: dict,
    gap: float | None,
) -> tuple[object, ...]:
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
        anchor_info["split"],
        other_info["split"],
        anchor_info["year"],
        other_info["year"],
        performer_relation(anchor_info, other_info, label),
        None if gap is None else round(gap, 6),
    )


def performer_relation(anchor_info: dict, other_info: dict, label: str) -> str:
    """What is known about the two performers; never more than the data says."""
    a, b = anchor_info.get("performer_name"), other_info.get("performer_name")
    if a and b:
        return RELATION_SAME_ATEPP if a == b else RELATION_DIFFERENT_ATEPP
    if anchor_info["session_id"] == other_info["session_id"]:
        return RELATION_SAME_SESSION
    if label == POSITIVE and anchor_info["year"] == other_info["year"]:
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
    return PairStats(
        pairs=pairs.height,
        positives=int((pairs["label"] == POSITIVE).sum()),
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
    )


def pair_problems(
    pairs: pl.DataFrame, known_segments: set[str], allow_cross_split: bool
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
        (pl.col("label") == POSITIVE) & (pl.col("anchor_piece_id") != pl.col("other_piece_id"))
    )
    bad_neg = pairs.filter(
        (pl.col("label") == NEGATIVE) & (pl.col("anchor_piece_id") == pl.col("other_piece_id"))
    )
    if bad_pos.height:
        problems.append(f"{bad_pos.height} positives join different pieces")
    if bad_neg.height:
        problems.append(f"{bad_neg.height} negatives join the same piece")
    return problems
