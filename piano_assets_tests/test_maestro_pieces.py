"""Piece normalization on the real MAESTRO CSV, the piece→performance map, the ATEPP join."""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

import polars as pl
import pytest

from piano_assets.maestro.metadata import parse_maestro_metadata, read_maestro_metadata
from piano_assets.maestro.pieces import (
    PERFORMER_SOURCE_ATEPP,
    build_piece_map,
    catalogue_ids,
    find_atepp_metadata,
    multi_performance_groups,
    normalization_report,
    normalize_text,
    piece_stats,
    read_atepp_performers,
)
from piano_assets_tests.maestro_helpers import REAL_CSV, needs_real_csv


@pytest.mark.parametrize(
    ("variants", "expected"),
    [
        (
            ["Variations Serieuses, Op. 54", "Variations Serieuses Op. 54",
             "Variations sérieuses, Op. 54", "Variations serieuses, Op.54"],
            "variations serieuses op 54",
        ),
        (["Bagatelles Op126", "Bagatelles, Opus 126"], "bagatelles op 126"),
        (["Impromptu Op.142 No.3, D935", "Impromptu Op. 142 No. 3, D. 935"],
         "impromptu op 142 no 3 d 935"),
        (["Sonata in C Major, Hob. XVI/50", "Sonata in C major, Hob. XVI: 50"],
         "sonata in c major hob xvi 50"),
        (["Concert Etude No. 2, “La leggierezza\", S. 144",
          "Concert Etude No. 2 La Leggierezza, S.144"],
         "concert etude no 2 la leggierezza s 144"),
    ],
)  # fmt: skip
def test_normalization_folds_case_punctuation_accents_and_opus_spacing(
    variants: list[str], expected: str
) -> None:
    assert {normalize_text(v) for v in variants} == {expected}


def test_normalization_does_not_merge_different_works() -> None:
    assert normalize_text("Etude Op. 10 No. 1") != normalize_text("Etude Op. 10 No. 12")
    assert normalize_text("Variations Seriouses, Op. 54") != normalize_text(
        "Variations Serieuses, Op. 54"
    )  # a spelling error stays apart: the rule is lexical, not fuzzy


def test_catalogue_ids_are_per_composer() -> None:
    assert catalogue_ids("Frédéric Chopin", "Ballade No. 4 in F Minor, Op.52") == [
        "frederic chopin :: op 52"
    ]
    assert catalogue_ids("Franz Schubert", "Impromptu Op. 90 No. 3, D899") == [
        "franz schubert :: d 899",
        "franz schubert :: op 90",
    ]


@needs_real_csv
def test_real_csv_raw_vs_normalized_multi_performance_groups(
    capsys: pytest.CaptureFixture[str],
) -> None:
    frame = read_maestro_metadata(REAL_CSV)
    piece_map = build_piece_map(frame)
    stats = piece_stats(piece_map)

    # Independent recount of the raw groups, straight from the CSV.
    raw_csv = pl.read_csv(REAL_CSV)
    raw_counts = Counter(
        zip(raw_csv["canonical_composer"], raw_csv["canonical_title"], strict=True)
    )
    raw_multi = sum(1 for n in raw_counts.values() if n >= 2)
    assert stats.raw_pieces == len(raw_counts)
    assert stats.raw_multi_recording_pieces == raw_multi

    # Normalization only merges: every raw group lands whole in one normalized group.
    normalized_of_raw: dict[tuple[str, str], set[str]] = defaultdict(set)
    for row in piece_map.iter_rows(named=True):
        normalized_of_raw[(row["canonical_composer"], row["canonical_title"])].add(row["piece_id"])
    assert all(len(ids) == 1 for ids in normalized_of_raw.values())
    assert stats.pieces < stats.raw_pieces
    assert stats.multi_performance_pieces > stats.raw_multi_performance_pieces
    assert (
        stats.recordings_in_multi_performance_pieces
        > stats.raw_recordings_in_multi_performance_pieces
    )

    # The example from the design brief is one piece after normalization, two before.
    serieuses = piece_map.filter(
        pl.col("canonical_title").is_in(
            ["Variations Serieuses, Op. 54", "Variations Serieuses Op. 54"]
        )
    )
    assert serieuses["canonical_title"].n_unique() == 2
    assert serieuses["piece_id"].n_unique() == 1

    report = normalization_report(piece_map)
    assert report.height == stats.pieces_merged_by_normalization > 0
    groups = multi_performance_groups(piece_map)
    assert groups.height == stats.multi_performance_pieces
    with capsys.disabled():
        print(
            f"\nMAESTRO v3 pieces: raw {stats.raw_pieces} titles, "
            f"{stats.raw_multi_performance_pieces} with 2+ performances "
            f"({stats.raw_recordings_in_multi_performance_pieces} recordings), "
            f"{stats.raw_multi_recording_pieces} with 2+ recordings; normalized "
            f"{stats.pieces} pieces, {stats.multi_performance_pieces} with 2+ performances "
            f"({stats.recordings_in_multi_performance_pieces} recordings), "
            f"{stats.multi_recording_pieces} with 2+ recordings; "
            f"{stats.pieces_merged_by_normalization} groups merged 2+ raw titles; "
            f"{stats.multi_part_performances} performances split over "
            f"{stats.recordings_in_multi_part_performances} files"
        )
        for row in report.head(5).iter_rows(named=True):
            print(f"  {row['performances']:>3} × {row['piece_key']}  <=  {row['raw_titles']}")


CHOPIN = "Frédéric Chopin"


def _frame(rows: list[tuple[str, str, str, int, str]]) -> pl.DataFrame:
    lines = ["canonical_composer,canonical_title,split,year,midi_filename,audio_filename,duration"]
    for composer, title, split, year, name in rows:
        lines.append(f'{composer},"{title}",{split},{year},{name}.midi,{name}.wav,100.0')
    return parse_maestro_metadata(("\n".join(lines) + "\n").encode(), "m.csv")


def test_map_counts_performances_and_states_the_performer_proxy() -> None:
    frame = _frame(
        [
            (CHOPIN, "Berceuse, Op. 57", "validation", 2015, "2015/R1_09_R1_2015_wav--4"),
            (CHOPIN, "Berceuse Op. 57", "validation", 2015, "2015/R1_12_R1_2015_wav--2"),
            (CHOPIN, "Berceuse Op. 57", "validation", 2008, "2008/AUDIO_14_R1_2008_wav--4"),
            # One recital, one sonata cut into movement files: one performance in three parts.
            ("Franz Schubert", "Sonata in B-flat Major, D960", "train", 2004,
             "2004/XP_16_R2--AUDIO_16_R2_2004_10_Track10_wav"),
            ("Franz Schubert", "Sonata in B-flat Major, D960", "train", 2004,
             "2004/XP_16_R2--AUDIO_16_R2_2004_02_Track02_wav"),
            ("Franz Schubert", "Sonata in B-flat Major, D960", "train", 2004,
             "2004/XP_16_R2--AUDIO_16_R2_2004_01_Track01_wav"),
            ("Franz Schubert", "Sonata in B-flat Major, D. 960", "train", 2009,
             "2009/AUDIO_05_R1_2009_05_R1_2009_02_WAV"),
        ]
    )  # fmt: skip
    piece_map = build_piece_map(frame)
    berceuse = piece_map.filter(pl.col("canonical_composer") == "Frédéric Chopin")
    assert berceuse["piece_performances"].to_list() == [3, 3, 3]
    by_id = {r["recording_id"]: r for r in piece_map.iter_rows(named=True)}
    assert by_id["2015-r1_09_r1_2015_wav--4"]["same_year_other_contestants"] == 1
    assert by_id["2008-audio_14_r1_2008_wav--4"]["same_year_other_contestants"] == 0
    assert by_id["2015-r1_09_r1_2015_wav--4"]["session_id"] == "2015-r1_09_r1_2015_wav"

    sonata = piece_map.filter(pl.col("canonical_composer") == "Franz Schubert")
    assert sonata["piece_recordings"].to_list() == [4] * 4
    assert sonata["piece_performances"].to_list() == [2] * 4
    parts = sonata.filter(pl.col("year") == 2004)
    assert parts["session_id"].unique().to_list() == ["2004-xp_16_r2--audio_16_r2_2004"]
    assert parts["performance_parts"].to_list() == [3, 3, 3]
    # Parts in natural file order (Track01, Track02, Track10), whatever the CSV order.
    assert [r.rsplit("_", 2)[-2] for r in parts["recording_id"]] == [
        "track01",
        "track02",
        "track10",
    ]
    assert parts["part_index"].to_list() == [0, 1, 2]
    assert parts["same_year_other_contestants"].to_list() == [0, 0, 0]
    assert piece_map["performer_name"].is_null().all()
    stats = piece_stats(piece_map)
    assert (stats.recordings, stats.performances, stats.multi_part_performances) == (7, 5, 1)
    assert (stats.raw_multi_recording_pieces, stats.raw_multi_performance_pieces) == (2, 1)
    assert (stats.multi_recording_pieces, stats.multi_performance_pieces) == (2, 2)


def test_atepp_join_is_defensive(tmp_path: Path) -> None:
    frame = _frame(
        [
            ("Frédéric Chopin", "Berceuse Op. 57", "validation", 2015, "2015/Rec_A"),
            ("Frédéric Chopin", "Berceuse Op. 57", "validation", 2008, "2008/Rec_B"),
            ("Franz Liszt", "Mazeppa", "train", 2008, "2008/Rec_C"),
        ]
    )
    ids = set(frame["recording_id"])
    cache = tmp_path / "atepp_cache"
    assert find_atepp_metadata(cache) == []
    cache.mkdir()
    # A CSV without a MAESTRO link column is reported, not guessed from.
    (cache / "a_no_link.csv").write_text("artist,track\nPianist X,Berceuse\n")
    (cache / "b_metadata.csv").write_text(
        "artist,track,maestro_midi_filename\n"
        "Pianist One,Berceuse,2015/Rec_A.midi\n"  # MIDI name → same recording as the WAV
        "Pianist Two,Berceuse,maestro-v3.0.0/2008/Rec_B.wav\n"
        "Pianist Three,Berceuse,2008/Rec_B.midi\n"  # conflicting name → left unnamed
        "Pianist Four,Other,2099/Unknown.midi\n"  # not in this MAESTRO table
        "Pianist Five,Other,\n"  # no link
    )
    paths = find_atepp_metadata(cache)
    performers, report = read_atepp_performers(paths, ids)
    assert performers is not None
    assert dict(performers.iter_rows()) == {"2015-rec_a": "Pianist One"}
    assert report.link_column == "maestro_midi_filename"
    assert report.performer_column == "artist"
    assert report.conflicting_recordings == ["2008-rec_b"]
    assert report.unmatched_links == 1
    assert report.linked_rows == 4

    piece_map = build_piece_map(frame, performers)
    named = piece_map.filter(pl.col("performer_name").is_not_null())
    assert named["recording_id"].to_list() == ["2015-rec_a"]
    assert named["performer_source"].to_list() == [PERFORMER_SOURCE_ATEPP]
    assert piece_stats(piece_map).recordings_with_performer_names == 1


def test_atepp_without_any_usable_file_joins_nothing(tmp_path: Path) -> None:
    (tmp_path / "meta.csv").write_text("artist,track\nPianist X,Berceuse\n")
    performers, report = read_atepp_performers([tmp_path / "meta.csv"], {"x"})
    assert performers is None
    assert "no MAESTRO link column" in report.note


@needs_real_csv
def test_real_csv_raw_titles_to_pieces_to_works(capsys: pytest.CaptureFixture[str]) -> None:
    piece_map = build_piece_map(read_maestro_metadata(REAL_CSV))
    stats = piece_stats(piece_map)
    raw = pl.read_csv(REAL_CSV)
    assert stats.raw_pieces == raw.select("canonical_composer", "canonical_title").n_unique()
    assert stats.pieces == piece_map["piece_key"].n_unique()
    resolved = piece_map.filter(pl.col("work_id").is_not_null())
    assert stats.works == resolved["work_id"].n_unique()
    # Works gather title variants: far fewer works than normalized titles, none split.
    assert stats.works < stats.pieces < stats.raw_pieces
    assert stats.pieces_split_across_works == 0
    assert (
        stats.titles_resolved_by_rule
        + stats.titles_resolved_by_override
        + (stats.titles_unresolved)
        == stats.raw_pieces
    )
    # Works with 2+ performers, recounted from the recitals.
    performers = resolved.group_by("work_id").agg(pl.col("recital_id").n_unique())
    assert stats.works_with_2_plus_performers == performers.filter(pl.col("recital_id") >= 2).height
    assert (
        stats.works_with_2_plus_performers
        > stats.multi_performance_pieces
        > (stats.raw_multi_performance_pieces)
    )
    # A performance is one recital's files of one work.
    expected = resolved["recital_id"] + "/" + resolved["work_id"]
    assert (resolved["performance_id"] == expected).all()
    with capsys.disabled():
        print(
            f"\nMAESTRO v3: {stats.raw_pieces} raw titles -> {stats.pieces} normalized -> "
            f"{stats.works} works ({stats.titles_unresolved} titles unresolved, "
            f"{stats.recordings_unresolved} recordings); works with 2+ performers "
            f"{stats.works_with_2_plus_performers} "
            f"({stats.recordings_in_works_with_2_plus_performers} recordings); recitals "
            f"{stats.recitals}; split leakage: "
            f"{stats.works_in_2_plus_splits} works in 2+ splits, "
            f"{stats.performances_across_splits} performances across splits"
        )
