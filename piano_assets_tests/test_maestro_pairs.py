"""Segments and contrastive pairs: real-CSV sizing and invariants, split safety, seeds, scopes,
work families, the performer proxy, and the audit before/after."""

from __future__ import annotations

import math

import polars as pl
import pytest

from piano_assets.engine import SegmentPolicy
from piano_assets.maestro.audit import audit, legacy_view
from piano_assets.maestro.coverage import planned_segments
from piano_assets.maestro.metadata import parse_maestro_metadata, read_maestro_metadata
from piano_assets.maestro.pairs import (
    NEGATIVE,
    POSITIVE,
    RELATION_DIFFERENT_ATEPP,
    RELATION_SAME_YEAR,
    RELATION_UNKNOWN,
    PairPolicy,
    build_pairs,
    negatives_within_a_work,
    pair_problems,
    pair_stats,
    pairs_across_splits,
    positives_across_scopes,
)
from piano_assets.maestro.pieces import build_piece_map, positive_eligible
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
def test_real_csv_pairs_hold_every_invariant(
    real: tuple[pl.DataFrame, pl.DataFrame], capsys: pytest.CaptureFixture[str]
) -> None:
    piece_map, segments = real
    policy = PairPolicy()
    pairs = build_pairs(segments, piece_map, policy)
    known = set(segments["segment_id"])
    assert pair_problems(pairs, known, allow_cross_split=False, piece_map=piece_map) == []
    assert negatives_within_a_work(pairs, piece_map).is_empty()
    assert positives_across_scopes(pairs, piece_map).is_empty()
    assert pairs_across_splits(pairs, piece_map).is_empty()
    stats = pair_stats(pairs, policy)
    assert set(stats.pools) == {"train", "validation", "test"}
    # Anchors, counted independently: segments of performances of a resolved work at a known
    # scope that another recital plays at that scope in the same split.
    performances = (
        piece_map.filter(pl.col("work_id").is_not_null())
        .filter(
            pl.Series(
                [
                    positive_eligible(s)
                    for s in piece_map.filter(pl.col("work_id").is_not_null())["scope"]
                ]
            )
        )
        .select("recording_id", "work_id", "scope", "split", "recital_id")
    )
    groups = performances.group_by("work_id", "scope", "split").agg(
        pl.col("recital_id").n_unique().alias("recitals")
    )
    eligible = performances.join(groups, on=["work_id", "scope", "split"]).filter(
        pl.col("recitals") >= 2
    )
    expected = segments.filter(pl.col("recording_id").is_in(eligible["recording_id"].to_list()))
    assert stats.anchors == expected.height
    per_anchor = pairs.group_by("anchor_segment_id", "label").len()
    assert per_anchor.filter(pl.col("label") == POSITIVE)["len"].max() == 2
    assert (per_anchor.filter(pl.col("label") == NEGATIVE)["len"] == 2).all()
    # Every positive's "different performer" rests on the proxy (MAESTRO has no names).
    positives = pairs.filter(pl.col("label") == POSITIVE)
    assert positives["performer_assumed"].all()
    assert set(positives["performer_relation"]) == {RELATION_SAME_YEAR, RELATION_UNKNOWN}
    assert not pairs.filter(pl.col("label") == NEGATIVE)["performer_assumed"].any()
    with capsys.disabled():
        print(
            f"MAESTRO v3 pairs: {stats.pairs} ({stats.positives} positive, {stats.negatives} "
            f"negative) from {stats.anchors} anchors; per split {stats.pools}; positives by "
            f"performer relation {stats.positives_by_relation}"
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


@needs_real_csv
def test_audit_before_is_main_and_after_has_no_wrong_pair(
    real: tuple[pl.DataFrame, pl.DataFrame], capsys: pytest.CaptureFixture[str]
) -> None:
    piece_map, segments = real
    # The legacy view groups as commit c6e2b4f did: its pairs are the ones that commit built
    # (22,659 positives, 27,478 negatives, 13,739 anchors on the real CSV).
    legacy = pair_stats(build_pairs(segments, legacy_view(piece_map), PairPolicy()), PairPolicy())
    assert (legacy.positives, legacy.negatives, legacy.anchors) == (22_659, 27_478, 13_739)
    before, after = audit(read_maestro_metadata(REAL_CSV))
    assert before.positives == legacy.positives
    assert before.negatives_within_a_work > 0
    assert before.positives_across_scopes > before.positives_part_against_whole
    assert before.positives_part_against_whole > before.positives_movement_file_against_whole > 0
    assert before.groups_of_one_work_still_split > 0
    assert (after.negatives_within_a_work, after.positives_across_scopes) == (0, 0)
    assert after.groups_of_one_work_still_split == after.works_split_over_2_plus_groups == 0
    assert after.groups_with_2_plus_performers > before.groups_with_2_plus_performers
    with capsys.disabled():
        print(f"\nbefore: {before.model_dump()}\nafter:  {after.model_dump()}")


# -- toy maps --------------------------------------------------------------------------------

BEETHOVEN = "Ludwig van Beethoven"
SCHUBERT = "Franz Schubert"
CHOPIN = "Frédéric Chopin"


def _toy(rows: list[tuple[str, str, str, int, str, float]]) -> tuple[pl.DataFrame, pl.DataFrame]:
    lines = ["canonical_composer,canonical_title,split,year,midi_filename,audio_filename,duration"]
    lines += [f'{c},"{t}",{s},{y},{n}.midi,{n}.wav,{d}' for c, t, s, y, n, d in rows]
    frame = parse_maestro_metadata(("\n".join(lines) + "\n").encode(), "toy.csv")
    return build_piece_map(frame), planned_segments(frame, POLICY)


def _basic() -> tuple[pl.DataFrame, pl.DataFrame]:
    return _toy(
        [
            (CHOPIN, "Berceuse, Op. 57", "validation", 2015, "2015/a", 95.0),
            (CHOPIN, "Berceuse Op. 57", "validation", 2015, "2015/b", 65.0),
            (CHOPIN, "Berceuse Op. 57", "train", 2009, "2009/c", 80.0),
            (CHOPIN, "Berceuse Op. 57", "train", 2011, "2011/d", 70.0),
            (BEETHOVEN, "Sonata No. 21, Op. 53, 1st mov.", "train", 2009, "2009/e", 40.0),
            (BEETHOVEN, "Sonata No. 21, Op. 53, First Movement", "train", 2009, "2009/f", 40.0),
            ("Franz Liszt", "Mazeppa S. 139/4", "train", 2011, "2011/g", 40.0),
            ("Franz Liszt", "Mazeppa S. 139/4", "test", 2011, "2011/h", 40.0),
            # One recital's sonata in two movement files (one performance), and another one.
            (SCHUBERT, "Sonata D960", "train", 2004, "2004/AUDIO_16_R2_2004_02_Track02_wav", 40.0),
            (SCHUBERT, "Sonata D960", "train", 2004, "2004/AUDIO_16_R2_2004_01_Track01_wav", 40.0),
            (SCHUBERT, "Sonata D960", "train", 2009, "2009/AUDIO_05_R1_2009_05_R1_2009_02_WAV",
             95.0),
        ]
    )  # fmt: skip


def test_positives_are_position_matched_across_recordings() -> None:
    piece_map, segments = _basic()
    pairs = build_pairs(segments, piece_map, PairPolicy(positives_per_anchor=1))
    positive = pairs.filter(
        (pl.col("label") == POSITIVE) & (pl.col("anchor_segment_id") == "2015-a_seg003")
    )
    # Segment 3 of 4 (the tail, relative position 0.875) ↔ segment 2 of 3 (0.833), not seg000.
    assert positive["other_segment_id"].to_list() == ["2015-b_seg002"]
    assert positive["performer_relation"].to_list() == [RELATION_SAME_YEAR]
    assert positive["performer_assumed"].to_list() == [True]
    cross_year = pairs.filter(
        (pl.col("label") == POSITIVE) & (pl.col("anchor_recording_id") == "2009-c")
    )
    assert set(cross_year["performer_relation"]) == {RELATION_UNKNOWN}


def test_title_variants_of_one_movement_are_one_work_at_one_scope() -> None:
    piece_map, segments = _basic()
    rows = {r["recording_id"]: r for r in piece_map.iter_rows(named=True)}
    assert rows["2009-e"]["piece_id"] != rows["2009-f"]["piece_id"]  # lexically two titles
    assert (rows["2009-e"]["work_id"], rows["2009-e"]["scope"]) == ("beethoven:op53", "movements:1")
    assert (rows["2009-f"]["work_id"], rows["2009-f"]["scope"]) == ("beethoven:op53", "movements:1")
    pairs = build_pairs(segments, piece_map, PairPolicy(negatives_per_anchor=5, seed=3))
    between = pairs.filter(
        (pl.col("anchor_recording_id") == "2009-e") & (pl.col("other_recording_id") == "2009-f")
    )
    assert set(between["label"]) == {POSITIVE}


def test_movement_files_form_one_performance_read_in_order() -> None:
    piece_map, segments = _basic()
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
    assert "2004-r2-16/schubert:d960" in set(positives["other_performance_id"])


def test_a_movement_never_pairs_with_a_whole_work_by_position() -> None:
    piece_map, segments = _toy(
        [
            (BEETHOVEN, "Sonata No. 21 in C Major, Op. 53", "train", 2009, "2009/a", 120.0),
            (BEETHOVEN, "Sonata No. 21 in C Major, Op. 53", "train", 2018, "2018/b", 125.0),
            (BEETHOVEN, "Sonata No. 21, Op. 53, First Movement", "train", 2011, "2011/c", 60.0),
            (BEETHOVEN, "Sonata No. 21, Op. 53, I. Allegro con brio", "train", 2017, "2017/d",
             62.0),
        ]
    )  # fmt: skip
    pairs = build_pairs(segments, piece_map, PairPolicy(positives_per_anchor=3))
    positives = pairs.filter(pl.col("label") == POSITIVE)
    scopes = {tuple(sorted(p)) for p in positives.select("anchor_scope", "other_scope").rows()}
    assert scopes == {("complete", "complete"), ("movements:1", "movements:1")}
    assert positives_across_scopes(pairs, piece_map).is_empty()
    # Nor are they negatives: one work at any scope.
    assert pairs.filter(pl.col("label") == NEGATIVE).is_empty()


def test_consecutive_catalogue_numbers_join_the_complete_performance() -> None:
    recital = "2009/MIDI-Unprocessed_07_R2_2009_01_ORIG_MID--AUDIO_07_R2_2009_07_R2_2009_0"
    piece_map, segments = _toy(
        [
            (SCHUBERT, f"Sonata in C Minor, D. {958 + i}", "train", 2009, f"{recital}{i + 1}_WAV",
             40.0)
            for i in range(4)
        ]
        + [(SCHUBERT, "Sonata in C Minor, D958", "train", 2018, "2018/x_wav--1", 150.0)]
    )  # fmt: skip
    assert set(piece_map["work_id"]) == {"schubert:d958"}
    parts = piece_map.filter(pl.col("year") == 2009).sort("part_index")
    assert parts["performance_id"].unique().to_list() == ["2009-r2-07/schubert:d958"]
    assert parts["canonical_title"].to_list() == [
        f"Sonata in C Minor, D. {958 + i}" for i in range(4)
    ]
    pairs = build_pairs(segments, piece_map, PairPolicy(positives_per_anchor=1))
    from_whole = pairs.filter(
        (pl.col("label") == POSITIVE) & (pl.col("anchor_recording_id") == "2018-x_wav--1")
    ).sort("anchor_segment_id")
    # 5 segments of the whole (positions 0.1 … 0.9) ↔ 8 of the four movement files, in order.
    assert [o.split("_seg")[0][-5:] for o in from_whole["other_segment_id"]] == [
        "1_wav", "2_wav", "3_wav", "3_wav", "4_wav"
    ]  # fmt: skip


def test_negatives_never_join_a_work_its_set_or_an_unresolved_composer() -> None:
    piece_map, segments = _toy(
        [
            (CHOPIN, "Etude Op. 10 No. 4", "train", 2011, "2011/a", 60.0),
            (CHOPIN, "Etude Op. 10 No. 4 in C-sharp Minor", "train", 2013, "2013/b", 60.0),
            (CHOPIN, "Etude Op. 10 No. 12", "train", 2011, "2011/c", 60.0),  # same set
            (CHOPIN, "Nocturne in Db", "train", 2006, "2006/d", 60.0),  # unresolved
            ("Claude Debussy", "Barcarolle, Op. 60", "train", 2015, "2015/e", 60.0),  # Chopin's
            (CHOPIN, "Barcarolle, Op. 60", "train", 2013, "2013/f", 60.0),
            (SCHUBERT, "Impromptu Op. 90 No. 2", "train", 2008, "2008/g", 60.0),
            (SCHUBERT, "Impromptu Op. 90 No. 2 in E-flat Major", "train", 2015, "2015/h", 60.0),
        ]
    )  # fmt: skip
    rows = {r["recording_id"]: r for r in piece_map.iter_rows(named=True)}
    assert rows["2006-d"]["resolution"] == "unresolved"
    assert rows["2015-e"]["work_id"] == "chopin:op60"
    pairs = build_pairs(segments, piece_map, PairPolicy(negatives_per_anchor=6, seed=5))
    negatives = pairs.filter(pl.col("label") == NEGATIVE)
    assert negatives.height > 0
    assert negatives_within_a_work(pairs, piece_map).is_empty()
    pairs_drawn = {
        frozenset(p) for p in negatives.select("anchor_recording_id", "other_recording_id").rows()
    }
    chopin = {"2011-a", "2013-b", "2011-c", "2015-e", "2013-f"}
    op10 = {"2011-a", "2013-b", "2011-c"}
    assert not any(p <= op10 for p in pairs_drawn)  # one set: Op. 10 No. 4 and No. 12
    assert frozenset({"2015-e", "2013-f"}) not in pairs_drawn  # Chopin's, whoever MAESTRO says
    assert not any("2006-d" in p and p & chopin for p in pairs_drawn)  # unresolved Chopin
    # Different works of one composer stay fair negatives: the guard is not "same composer".
    assert any(p & op10 and p & {"2015-e", "2013-f"} for p in pairs_drawn)
    # The unresolved title takes no positive pairs at all.
    assert pairs.filter(
        (pl.col("label") == POSITIVE)
        & ((pl.col("anchor_recording_id") == "2006-d") | (pl.col("other_recording_id") == "2006-d"))
    ).is_empty()


def test_invariant_checks_catch_wrong_pairs() -> None:
    piece_map, segments = _basic()
    pairs = build_pairs(segments, piece_map, PairPolicy())
    flipped = pairs.with_columns(
        pl.when(pl.col("label") == POSITIVE)
        .then(pl.lit(NEGATIVE))
        .otherwise(pl.lit(POSITIVE))
        .alias("label")
    )
    assert not negatives_within_a_work(flipped, piece_map).is_empty()
    assert not positives_across_scopes(flipped, piece_map).is_empty()
    problems = pair_problems(flipped, set(segments["segment_id"]), False, piece_map)
    assert any("positives join different works" in p for p in problems)
    assert any("negatives join the same work" in p for p in problems)
    known = set(segments["segment_id"]) - {"2015-a_seg000"}
    assert any("do not exist" in p for p in pair_problems(pairs, known, False))


def test_pairs_never_cross_splits_unless_asked() -> None:
    piece_map, segments = _basic()
    pairs = build_pairs(segments, piece_map, PairPolicy())
    assert (pairs["anchor_split"] == pairs["other_split"]).all()
    assert pairs_across_splits(pairs, piece_map).is_empty()
    # Mazeppa has one recording per split: no positives for it within its split.
    assert pairs.filter(pl.col("anchor_recording_id").is_in(["2011-g", "2011-h"])).is_empty()
    crossing = build_pairs(segments, piece_map, PairPolicy(allow_cross_split=True))
    mazeppa = crossing.filter(
        (pl.col("anchor_recording_id") == "2011-g") & (pl.col("label") == POSITIVE)
    )
    assert set(mazeppa["other_recording_id"]) == {"2011-h"}
    assert not pairs_across_splits(crossing, piece_map).is_empty()
    problems = pair_problems(crossing, set(segments["segment_id"]), allow_cross_split=False)
    assert any("cross splits" in p for p in problems)
    assert pair_problems(crossing, set(segments["segment_id"]), allow_cross_split=True) == []


def test_atepp_names_decide_the_performer_relation() -> None:
    piece_map, segments = _basic()
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
    assert not between["performer_assumed"].any()
    # One pianist in two recitals: never a positive with themself.
    same = named.with_columns(
        pl.when(pl.col("recording_id").is_in(["2009-c", "2011-d"]))
        .then(pl.lit("Pianist C"))
        .otherwise(pl.col("performer_name"))
        .alias("performer_name")
    )
    repeated = build_pairs(segments, same, PairPolicy())
    assert repeated.filter(
        (pl.col("label") == POSITIVE)
        & (pl.col("anchor_recording_id") == "2009-c")
        & (pl.col("other_recording_id") == "2011-d")
    ).is_empty()
