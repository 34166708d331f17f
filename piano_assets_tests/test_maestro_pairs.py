"""Segments and contrastive pairs: real-CSV sizing, split safety, seeds, catalogue guard."""

from __future__ import annotations

import math

import polars as pl
import pytest

from piano_assets.engine import SegmentPolicy
from piano_assets.maestro.adapter import planned_segments
from piano_assets.maestro.metadata import parse_maestro_metadata, read_maestro_metadata
from piano_assets.maestro.pairs import (
    NEGATIVE,
    POSITIVE,
    RELATION_DIFFERENT_ATEPP,
    RELATION_SAME_YEAR,
    RELATION_UNKNOWN,
    PairPolicy,
    build_pairs,
    pair_problems,
    pair_stats,
)
from piano_assets.maestro.pieces import build_piece_map
from piano_assets_tests.maestro_helpers import REAL_CSV, needs_real_csv

POLICY = SegmentPolicy(segment_seconds=30.0, min_tail_seconds=5.0)


@pytest.fixture(scope="module")
def real() -> tuple[pl.DataFrame, pl.DataFrame]:
    if not REAL_CSV.is_file():
        pytest.skip(f"real MAESTRO v3 metadata not found at {REAL_CSV}")
    frame = read_maestro_metadata(REAL_CSV)
    return build_piece_map(frame), planned_segments(frame, POLICY)


@needs_real_csv
def test_real_csv_segment_count_follows_the_engine_policy(
    real: tuple[pl.DataFrame, pl.DataFrame], capsys: pytest.CaptureFixture[str]
) -> None:
    piece_map, segments = real
    # Independent count: full 30 s windows plus a tail kept when it lasts 5 s or more.
    expected = 0
    for duration in pl.read_csv(REAL_CSV)["duration"]:
        full = math.floor(duration / 30.0)
        expected += full + (1 if duration - 30.0 * full >= 5.0 else 0)
    assert segments.height == expected
    assert segments["segment_id"].n_unique() == segments.height
    assert set(segments["recording_id"]) == set(piece_map["recording_id"])
    assert 20_000 < segments.height < 26_000  # ~23k, not the ~10k the old plan assumed
    with capsys.disabled():
        print(f"\nMAESTRO v3: {piece_map.height} recordings -> {segments.height} segments (30 s)")


@needs_real_csv
def test_real_csv_pairs_stay_in_their_split_and_reference_segments(
    real: tuple[pl.DataFrame, pl.DataFrame], capsys: pytest.CaptureFixture[str]
) -> None:
    piece_map, segments = real
    policy = PairPolicy()
    pairs = build_pairs(segments, piece_map, policy)
    assert pair_problems(pairs, set(segments["segment_id"]), allow_cross_split=False) == []
    stats = pair_stats(pairs, policy)
    assert stats.cross_split_pairs == 0
    assert set(stats.pools) == {"train", "validation", "test"}
    # Every segment of a performance whose piece has another performance in its split anchors.
    multi = (
        piece_map.group_by("piece_id", "split")
        .agg(pl.col("performance_id").n_unique().alias("n"), pl.col("recording_id"))
        .filter(pl.col("n") >= 2)
        .explode("recording_id")["recording_id"]
    )
    expected_anchors = segments.filter(pl.col("recording_id").is_in(multi.to_list())).height
    assert stats.anchors == expected_anchors
    per_anchor = pairs.group_by("anchor_segment_id", "label").len()
    assert (
        per_anchor.filter(pl.col("label") == POSITIVE)["len"].max() == policy.positives_per_anchor
    )
    assert (per_anchor.filter(pl.col("label") == NEGATIVE)["len"] == 2).all()
    # Negatives never share a catalogue number of the anchor's composer (title variants).
    catalogue = dict(piece_map.select("piece_id", "catalogue_ids").unique("piece_id").iter_rows())
    negatives = pairs.filter(pl.col("label") == NEGATIVE)
    for anchor_piece, other_piece in negatives.select("anchor_piece_id", "other_piece_id").rows():
        assert not set(catalogue[anchor_piece]) & set(catalogue[other_piece])
    with capsys.disabled():
        print(
            f"MAESTRO v3 pairs: {stats.pairs} ({stats.positives} positive, {stats.negatives} "
            f"negative) from {stats.anchors} anchors; per split {stats.pools}"
        )


@needs_real_csv
def test_real_csv_pairs_are_seed_deterministic(real: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    piece_map, segments = real
    first = build_pairs(segments, piece_map, PairPolicy(seed=7))
    assert build_pairs(segments, piece_map, PairPolicy(seed=7)).equals(first)
    # Input order does not matter; the seed does.
    shuffled = segments.sample(fraction=1.0, shuffle=True, seed=1)
    assert build_pairs(shuffled, piece_map.reverse(), PairPolicy(seed=7)).equals(first)
    assert not build_pairs(segments, piece_map, PairPolicy(seed=8)).equals(first)


BEETHOVEN = "Ludwig van Beethoven"
SCHUBERT = "Franz Schubert"


def _toy() -> tuple[pl.DataFrame, pl.DataFrame]:
    rows = [
        ("Frédéric Chopin", "Berceuse, Op. 57", "validation", 2015, "2015/a", 95.0),
        ("Frédéric Chopin", "Berceuse Op. 57", "validation", 2015, "2015/b", 65.0),
        ("Frédéric Chopin", "Berceuse Op. 57", "train", 2009, "2009/c", 40.0),
        ("Frédéric Chopin", "Berceuse Op. 57", "train", 2011, "2011/d", 40.0),
        (BEETHOVEN, "Sonata No. 21, Op. 53, 1st mov.", "train", 2009, "2009/e", 40.0),
        (BEETHOVEN, "Sonata No. 21, Op. 53, First Movement", "train", 2009, "2009/f", 40.0),
        ("Franz Liszt", "Mazeppa", "train", 2011, "2011/g", 40.0),
        ("Franz Liszt", "Mazeppa", "test", 2011, "2011/h", 40.0),
        # One recital's sonata in two movement files (one performance), and another performance.
        (SCHUBERT, "Sonata D960", "train", 2004, "2004/AUDIO_16_R2_2004_02_Track02_wav", 40.0),
        (SCHUBERT, "Sonata D960", "train", 2004, "2004/AUDIO_16_R2_2004_01_Track01_wav", 40.0),
        (SCHUBERT, "Sonata D960", "train", 2009, "2009/AUDIO_05_R1_2009_05_R1_2009_02_WAV", 95.0),
    ]
    lines = ["canonical_composer,canonical_title,split,year,midi_filename,audio_filename,duration"]
    lines += [f'{c},"{t}",{s},{y},{n}.midi,{n}.wav,{d}' for c, t, s, y, n, d in rows]
    frame = parse_maestro_metadata(("\n".join(lines) + "\n").encode(), "toy.csv")
    return build_piece_map(frame), planned_segments(frame, POLICY)


def test_positives_are_position_matched_across_recordings() -> None:
    piece_map, segments = _toy()
    pairs = build_pairs(segments, piece_map, PairPolicy(positives_per_anchor=1))
    positive = pairs.filter(
        (pl.col("label") == POSITIVE) & (pl.col("anchor_segment_id") == "2015-a_seg003")
    )
    # Segment 3 of 4 (the tail, relative position 0.875) ↔ segment 2 of 3 (0.833), not seg000.
    assert positive["other_segment_id"].to_list() == ["2015-b_seg002"]
    assert positive["performer_relation"].to_list() == [RELATION_SAME_YEAR]
    cross_year = pairs.filter((pl.col("label") == POSITIVE) & (pl.col("anchor_year") == 2009))
    assert set(cross_year["performer_relation"]) == {RELATION_UNKNOWN}


def test_movement_files_form_one_performance_read_in_order() -> None:
    piece_map, segments = _toy()
    pairs = build_pairs(segments, piece_map, PairPolicy(positives_per_anchor=1))
    part_1 = "2004-audio_16_r2_2004_01_track01_wav"
    part_2 = "2004-audio_16_r2_2004_02_track02_wav"
    single = "2009-audio_05_r1_2009_05_r1_2009_02_wav"
    positives = pairs.filter(pl.col("label") == POSITIVE)
    # The two movement files never pair with each other: one performer, different music.
    parts = {part_1, part_2}
    assert positives.filter(
        pl.col("anchor_recording_id").is_in(parts) & pl.col("other_recording_id").is_in(parts)
    ).is_empty()
    # The 4 segments of the single file match the 2 + 2 of the split one, in order.
    matched = dict(
        positives.filter(pl.col("anchor_recording_id") == single)
        .select("anchor_segment_id", "other_segment_id")
        .iter_rows()
    )
    assert matched == {
        f"{single}_seg000": f"{part_1}_seg000",
        f"{single}_seg001": f"{part_1}_seg001",
        f"{single}_seg002": f"{part_2}_seg000",
        f"{single}_seg003": f"{part_2}_seg001",
    }
    ids = set(positives["anchor_performance_id"]) | set(positives["other_performance_id"])
    assert (
        "2004-audio_16_r2_2004/"
        + piece_map.filter(pl.col("recording_id") == part_1)["piece_id"].item()
        in ids
    )


def test_pairs_never_cross_splits_unless_asked() -> None:
    piece_map, segments = _toy()
    pairs = build_pairs(segments, piece_map, PairPolicy())
    assert (pairs["anchor_split"] == pairs["other_split"]).all()
    # Mazeppa has one recording per split: no positives for it within its split.
    assert pairs.filter(pl.col("anchor_recording_id").is_in(["2011-g", "2011-h"])).is_empty()
    crossing = build_pairs(segments, piece_map, PairPolicy(allow_cross_split=True))
    mazeppa = crossing.filter(
        (pl.col("anchor_recording_id") == "2011-g") & (pl.col("label") == POSITIVE)
    )
    assert set(mazeppa["other_recording_id"]) == {"2011-h"}
    problems = pair_problems(crossing, set(segments["segment_id"]), allow_cross_split=False)
    assert any("cross splits" in p for p in problems)
    assert pair_problems(crossing, set(segments["segment_id"]), allow_cross_split=True) == []


def test_catalogue_guard_keeps_unmerged_title_variants_out_of_negatives() -> None:
    piece_map, segments = _toy()
    ids = dict(piece_map.select("recording_id", "piece_id").iter_rows())
    assert ids["2009-e"] != ids["2009-f"]  # the rule does not merge "1st mov." / "First Movement"
    pairs = build_pairs(segments, piece_map, PairPolicy(negatives_per_anchor=5, seed=3))
    negatives = pairs.filter(pl.col("label") == NEGATIVE)
    beethoven = {ids["2009-e"], ids["2009-f"]}
    for anchor, other in negatives.select("anchor_piece_id", "other_piece_id").rows():
        assert not (anchor in beethoven and other in beethoven)


def test_problems_are_reported() -> None:
    piece_map, segments = _toy()
    pairs = build_pairs(segments, piece_map, PairPolicy())
    known = set(segments["segment_id"]) - {"2015-a_seg000"}
    assert any("do not exist" in p for p in pair_problems(pairs, known, False))
    flipped = pairs.with_columns(
        pl.when(pl.col("label") == POSITIVE)
        .then(pl.lit(NEGATIVE))
        .otherwise(pl.lit(POSITIVE))
        .alias("label")
    )
    problems = pair_problems(flipped, set(segments["segment_id"]), False)
    assert any("positives join different pieces" in p for p in problems)
    assert any("negatives join the same piece" in p for p in problems)


def test_atepp_names_decide_the_performer_relation() -> None:
    piece_map, segments = _toy()
    named = piece_map.with_columns(
        pl.when(pl.col("recording_id") == "2009-c")
        .then(pl.lit("Pianist C"))
        .when(pl.col("recording_id") == "2011-d")
        .then(pl.lit("Pianist D"))
        .otherwise(pl.col("performer_name"))
        .alias("performer_name")
    )
    pairs = build_pairs(segments, named, PairPolicy())
    between = pairs.filter(
        (pl.col("anchor_recording_id") == "2009-c") & (pl.col("other_recording_id") == "2011-d")
    )
    assert set(between["performer_relation"]) == {RELATION_DIFFERENT_ATEPP}
