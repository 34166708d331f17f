"""Print what the tier would make of a MAESTRO metadata file, without audio or Dagster.

    python -m piano_assets.maestro.report ../shared/data/maestro-v3.0.0.csv

Raw titles → normalized titles → works, the unresolved titles, the groups the normalization
merged, the segment count under the engine's policy, and the contrastive pairs that count would
give. The before/after audit of the grouping is `python -m piano_assets.maestro.audit`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from piano_assets.engine import SegmentPolicy
from piano_assets.maestro.coverage import planned_segments
from piano_assets.maestro.metadata import read_maestro_metadata
from piano_assets.maestro.pairs import PairPolicy, build_pairs, pair_stats
from piano_assets.maestro.pieces import (
    NORMALIZATION_RULE,
    PERFORMER_PROXY_RULE,
    build_piece_map,
    normalization_report,
    piece_stats,
    unresolved_titles,
)


def report(metadata: Path, shown: int, segment_seconds: float, min_tail_seconds: float) -> str:
    frame = read_maestro_metadata(metadata)
    piece_map = build_piece_map(frame)
    stats = piece_stats(piece_map)
    policy = SegmentPolicy(segment_seconds, min_tail_seconds)
    segments = planned_segments(frame, policy)
    pair_policy = PairPolicy()
    pairs = pair_stats(build_pairs(segments, piece_map, pair_policy), pair_policy)
    merged = normalization_report(piece_map)
    lines = [
        f"{metadata}: {stats.recordings} recordings, {stats.hours:.2f} h",
        f"rule: {NORMALIZATION_RULE}",
        f"performers: {PERFORMER_PROXY_RULE}",
        "",
        f"raw (composer, title) groups: {stats.raw_pieces:4d}; with 2+ performances: "
        f"{stats.raw_multi_performance_pieces:3d} "
        f"({stats.raw_recordings_in_multi_performance_pieces} recordings); "
        f"with 2+ recordings: {stats.raw_multi_recording_pieces}",
        f"normalized pieces:            {stats.pieces:4d}; with 2+ performances: "
        f"{stats.multi_performance_pieces:3d} ({stats.recordings_in_multi_performance_pieces}"
        f" recordings); with 2+ recordings: {stats.multi_recording_pieces}",
        f"performances (recital, work): {stats.performances}; split over 2+ files: "
        f"{stats.multi_part_performances} ({stats.recordings_in_multi_part_performances} files)",
        f"works: {stats.works} (titles by rule {stats.titles_resolved_by_rule}, by reviewed "
        f"override {stats.titles_resolved_by_override}, unresolved {stats.titles_unresolved}); "
        f"with 2+ performers (recitals): {stats.works_with_2_plus_performers}",
        f"normalized groups merging 2+ raw titles: {stats.pieces_merged_by_normalization}; "
        f"multi-performance pieces spanning splits: "
        f"{stats.multi_performance_pieces_spanning_splits}",
        "",
        f"segments ({segment_seconds:g} s windows, tails >= {min_tail_seconds:g} s kept): "
        f"{segments.height}",
        f"pairs (seed {pair_policy.seed}, {pair_policy.positives_per_anchor}+"
        f"{pair_policy.negatives_per_anchor} per anchor, within splits): {pairs.pairs} "
        f"({pairs.positives} positive, {pairs.negatives} negative) from {pairs.anchors} anchors;"
        f" per split {pairs.pools}",
        "",
        "unresolved titles (never guessed):",
        *[
            f"  {composer} :: {title} ({recordings})"
            for composer, title, recordings, _ in unresolved_titles(piece_map).rows()
        ],
        "",
        f"merged groups (first {shown} of {merged.height}):",
    ]
    for row in merged.head(shown).iter_rows(named=True):
        lines.append(
            f"  {row['performances']:3d} performances ({row['recordings']} recordings) "
            f"× {row['piece_key']}"
        )
        lines += [f"        {title!r}" for title in row["raw_titles"]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("metadata", type=Path, help="maestro-v3.0.0.csv or .json")
    parser.add_argument("--show", type=int, default=15, help="merged groups to list")
    parser.add_argument("--segment-seconds", type=float, default=30.0)
    parser.add_argument("--min-tail-seconds", type=float, default=5.0)
    args = parser.parse_args(argv)
    sys.stdout.write(
        report(args.metadata, args.show, args.segment_seconds, args.min_tail_seconds) + "\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
