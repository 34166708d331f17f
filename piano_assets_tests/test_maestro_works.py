"""Work identity of MAESTRO titles: the rules, the reviewed overrides, and every kind of MAESTRO
error on the real v3 metadata."""

from __future__ import annotations

import re

import polars as pl
import pytest
import yaml
from pydantic import ValidationError

from piano_assets.maestro.metadata import read_maestro_metadata
from piano_assets.maestro.pieces import build_piece_map, recital_key
from piano_assets.maestro.works import (
    COMPLETE,
    EXCERPT,
    OVERRIDE,
    RULE,
    UNRESOLVED,
    WorkOverrides,
    default_families,
    load_overrides,
    read_title,
    resolve_title,
    title_key,
    unused_overrides,
)
from piano_assets_tests.maestro_helpers import REAL_CSV, needs_real_csv

CHOPIN = "Frédéric Chopin"
SCHUBERT = "Franz Schubert"
BACH = "Johann Sebastian Bach"
LISZT = "Franz Liszt"
BEETHOVEN = "Ludwig van Beethoven"


# -- rules -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("composer", "title", "work", "scope"),
    [
        (CHOPIN, "Ballade 4 Op. 52", "chopin:op52", COMPLETE),
        (CHOPIN, "Ballade No. 4 in F Minor, Op. 52", "chopin:op52", COMPLETE),
        (CHOPIN, "Etude Op. 10 No. 4 in C-sharp Minor", "chopin:op10no4", COMPLETE),
        (CHOPIN, "Etudes Op. 25 Nos. 1-5", "chopin:op25", "numbers:1-5"),
        (CHOPIN, "Two Preludes from Op. 28, Nos. 15 and 24", "chopin:op28", "numbers:15,24"),
        (CHOPIN, "Sonata No. 3", "chopin:op58", COMPLETE),
        (CHOPIN, "Scherzo No. 3", "chopin:op39", COMPLETE),
        (CHOPIN, "Sonata No. 3 in B Minor, Op. 58, I. Allegro maestoso", "chopin:op58",
         "movements:1"),
        (SCHUBERT, "Impromptu Op. 90 No. 3 in G-flat Major, D. 899", "schubert:d899no3",
         COMPLETE),
        (SCHUBERT, "Impromptu Op. 142 No. 1 in F Minor", "schubert:d935no1", COMPLETE),
        (SCHUBERT, "Sonata in A Major, Op. 120, I. Allegro moderato", "schubert:d664",
         "movements:1"),
        (BACH, "Prelude and Fugue in G Minor, WTC II", "bach:bwv885", COMPLETE),
        (BACH, "Prelude & Fugue in G Minor, WTK II", "bach:bwv885", COMPLETE),
        (BACH, "Prelude and Fugue in B-Moll, No. 22 WTKII", "bach:bwv891", COMPLETE),
        (BACH, "Prelude and Fugue in D-flat Major, WTC I, BWV 848", "bach:bwv848", COMPLETE),
        (BACH, "Prelude and Fugue in E-flat Minor, WTC I, BWV 853", "bach:bwv853", COMPLETE),
        (BACH, "Partita No. 6 in E Minor", "bach:bwv830", COMPLETE),
        (BACH, "Prelude from the English Suite No. 6 in D Minor, BWV 811", "bach:bwv811",
         "movements:1"),
        (BEETHOVEN, "Sonata No. 21 in C Major, Op. 53, 1st mov.", "beethoven:op53",
         "movements:1"),
        (BEETHOVEN, "Sonata No. 21 in C major, Op. 53, “Waldstein,” I. Allegro con brio",
         "beethoven:op53", "movements:1"),
        (BEETHOVEN, "Sonata No. 26 in 3-flat Major, Op. 81a (2nd & 3rd Movements)",
         "beethoven:op81a", "movements:2-3"),
        (BEETHOVEN, "Sonata No. 16 in G Major, Op. 31 No. 1, I. and II. ", "beethoven:op31no1",
         "movements:1-2"),
        (BEETHOVEN, "Thirty-Two Variaions in C Minor, WoO80", "beethoven:woo80", COMPLETE),
        ("Wolfgang Amadeus Mozart", "Sonata in C Minor K457, First Movement", "mozart:k457",
         "movements:1"),
        ("Joseph Haydn", "Sonata in C Major, Hob. XVI: 50, I. Allegro", "haydn:hobxvi-50",
         "movements:1"),
        (LISZT, "Hungarian Rhapsody No. 9 in E-flat Major, S. 244", "liszt:s244no9", COMPLETE),
        (LISZT, "Transcendental Etude No. 10 in F Minor", "liszt:s139no10", COMPLETE),
        (LISZT, "Études d'exécution transcendante, No. 10 in F Minor, S.139/10",
         "liszt:s139no10", COMPLETE),
        (LISZT, "Venezia e Napoli, S.162 (Complete)", "liszt:s162", COMPLETE),
        ("Claude Debussy", "Preludes, Book II, L 123, IV. «Les fées sont d'exquises danseuses»",
         "debussy:l123no4", COMPLETE),
        ("Domenico Scarlatti", "Sonata in D Major, K. 96 L. 465", "scarlatti:k96", COMPLETE),
        ("Johannes Brahms", "Fantasias Op. 116 (Selections)", "brahms:op116", EXCERPT),
        # Arrangements: the composer's work in the arranger's hands, unless Liszt catalogued it.
        ("Johann Sebastian Bach / Ferruccio Busoni", "Chaconne BWV1004", "bach-busoni:bwv1004",
         COMPLETE),
        ("Franz Liszt / Vladimir Horowitz", "Hungarian Rhapsody No. 2 (Horowitz Edition)",
         "liszt-horowitz:s244no2", COMPLETE),
        ("Franz Schubert / Franz Liszt", 'Standchen, S. 558, NO. 9, "Horch, horch! Die Lerch"',
         "liszt:s558no9", COMPLETE),
    ],
)  # fmt: skip
def test_rules_read_catalogue_numbers_and_scopes(
    composer: str, title: str, work: str, scope: str
) -> None:
    reading = read_title(composer, title)
    assert (reading.work_id, reading.scope) == (work, scope), reading.note


@pytest.mark.parametrize(
    ("composer", "title", "why"),
    [
        # WTC key and book say BWV 889; the number says BWV 847 (WTC I, C minor).
        (BACH, "Prelude and Fugue in A Minor, WTC II, BWV 847", "disagrees"),
        # "No. 26" after Op. 81: the sonata's number, not a number within Op. 81.
        (BEETHOVEN, "Sonata Op. 81 No. 26, 'Les Adieux'", "one sonata"),
        (SCHUBERT, "Impromptu Op. 90 No. 1, D935", "disagrees"),
        (LISZT, "Mephisto Waltz", "no catalogue number"),
    ],
)
def test_rules_leave_what_they_cannot_read(composer: str, title: str, why: str) -> None:
    reading = read_title(composer, title)
    assert reading.work_id is None
    assert why in reading.note


def test_families_guard_the_set_and_the_original() -> None:
    assert default_families("chopin:op10no4") == ["chopin:op10"]
    assert default_families("bach-busoni:bwv1004") == ["bach:bwv1004"]
    assert default_families("liszt-horowitz:s244no2") == ["liszt:s244"]
    assert default_families("bach:bwv885") == ["bach:bwv885"]


def test_recital_key_reads_the_audio_name_not_the_midi_prefix() -> None:
    # One 2009 recital whose files MAESTRO filed under two MIDI prefixes.
    first = (
        "2009/MIDI-Unprocessed_07_R1_2009_01-03_ORIG_MID--AUDIO_07_R1_2009_07_R1_2009_02_WAV.wav"
    )
    later = (
        "2009/MIDI-Unprocessed_07_R1_2009_04-05_ORIG_MID--AUDIO_07_R1_2009_07_R1_2009_05_WAV.wav"
    )
    assert recital_key(first) == recital_key(later) == "2009-r1-07"
    # 2004: the MIDI prefix names another recital than the audio.
    odd = "2004/MIDI-Unprocessed_SMF_17_R1_2004_01-02_ORIG_MID--AUDIO_20_R2_2004_02_Track02_wav.wav"
    assert recital_key(odd) == "2004-r2-20"
    # 2011 names an audio disk: the MIDI part decides.
    disk = "2011/MIDI-Unprocessed_01_R1_2011_MID--AUDIO_R1-D1_02_Track02_wav.wav"
    assert recital_key(disk) == "2011-r1-01"
    assert recital_key(
        "2015/MIDI-Unprocessed_R1_D1-1-8_mid--AUDIO-from_mp3_01_R1_2015_wav--2.wav"
    ) == ("2015-r1-01")
    # 2017 carries no recital number: the source recording stands in.
    split = "2017/MIDI-Unprocessed_041_PIANO041_MID--AUDIO-split_07-06-17_Piano-e_1-01_wav--3.wav"
    assert recital_key(split).endswith("piano-e_1-01_wav")


# -- the overrides file ----------------------------------------------------------------------


def test_the_shipped_overrides_file_is_valid_and_reviewed() -> None:
    overrides = load_overrides()
    assert overrides.overrides
    for entry in overrides.overrides:
        assert entry.reason.strip() and entry.error.strip()
        assert entry.citation is None or re.match(r"https?://", entry.citation)
        if entry.work is None:
            assert entry.error in {"ambiguous", "conflicting-catalogue-numbers"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"work": "Chopin Op 52"}, "not a work id"),
        ({"titles": {"Some title": "the middle bit"}}, "scope"),
        ({"candidates": ["chopin:op52"]}, "candidates are for unresolved entries only"),
        ({"unknown_field": 1}, "Extra inputs"),
    ],
)
def test_a_bad_override_is_refused_with_the_cause(change: dict, message: str) -> None:
    entry = {
        "composer": CHOPIN,
        "titles": {"Some title": None},
        "work": "chopin:op52",
        "error": "typo",
        "reason": "a test",
    }
    with pytest.raises(ValidationError, match=message):
        WorkOverrides.model_validate({"version": 1, "overrides": [{**entry, **change}]})


def test_a_title_overridden_twice_is_refused() -> None:
    text = """
version: 1
overrides:
- {composer: A B, titles: {"X, Op. 1": null}, work: b:op1, error: typo, reason: r}
- {composer: A B, titles: {"x,  op. 1": null}, work: b:op2, error: typo, reason: r}
"""
    with pytest.raises(ValidationError, match="overridden twice"):
        WorkOverrides.model_validate(yaml.safe_load(text))


def test_an_override_wins_over_the_rules_and_says_why() -> None:
    row = resolve_title("Claude Debussy", "Barcarolle, Op. 60")
    assert read_title("Claude Debussy", "Barcarolle, Op. 60").work_id == "debussy:op60"
    assert (row.work_id, row.composer, row.resolution) == (
        "chopin:op60",
        CHOPIN,
        OVERRIDE,
    )
    assert row.error == "composer-error" and "Chopin" in row.reason and row.citation


# -- the real CSV ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_map() -> pl.DataFrame:
    if not REAL_CSV.is_file():
        pytest.skip(f"real MAESTRO v3 metadata not found at {REAL_CSV}")
    return build_piece_map(read_maestro_metadata(REAL_CSV))


def _by_title(piece_map: pl.DataFrame, composer: str, title: str) -> pl.DataFrame:
    key = title_key(composer, title)
    keys = [
        title_key(c, t) for c, t in piece_map.select("canonical_composer", "canonical_title").rows()
    ]
    found = piece_map.filter(pl.Series([k == key for k in keys]))
    assert found.height, f"{composer} :: {title} not in the real CSV"
    return found


def _work(piece_map: pl.DataFrame, composer: str, title: str) -> str:
    works = _by_title(piece_map, composer, title)["work_id"].unique().to_list()
    assert len(works) == 1
    return works[0]


@needs_real_csv
def test_every_override_names_a_real_title_and_every_title_has_a_resolution(
    real_map: pl.DataFrame,
) -> None:
    assert unused_overrides(read_maestro_metadata(REAL_CSV)) == []
    titles = real_map.unique(["canonical_composer", "canonical_title"])
    assert titles.height == 856
    assert set(titles["resolution"]) == {RULE, OVERRIDE, UNRESOLVED}
    # Nothing is unresolved by accident: every unresolved title was reviewed and listed.
    unresolved = titles.filter(pl.col("resolution") == UNRESOLVED)
    assert (unresolved["maestro_error"].is_in(["ambiguous", "conflicting-catalogue-numbers"])).all()
    assert unresolved["work_id"].is_null().all()
    assert (unresolved["scope"] == UNRESOLVED).all()
    assert unresolved.height < 0.05 * titles.height


@needs_real_csv
@pytest.mark.parametrize(
    ("work", "titles", "recital", "parts"),
    [
        # 2009: the four movements of D 958 filed as D. 958, D. 959, D. 960, D. 961.
        ("schubert:d958", ["Sonata in C Minor, D. 958", "Sonata in C Minor, D. 959",
                           "Sonata in C Minor, D. 960", "Sonata in C Minor, D. 961"],
         "2009-r2-07", 4),
        # 2006: "Sonata in A D960/961/962" are movements of D 959 (three or four files).
        ("schubert:d959", ["Sonata in A D959", "Sonata in A D960", "Sonata in A D961",
                           "Sonata in A D962"], "2006-r2-07", 4),
        ("schubert:d960", ["Son. in Bb D.960", "Son. in Bb D.961", "Son. in Bb D.962"],
         "2006-r2-05", 3),
        ("schubert:d960", ["Sonata in B-flat Major, D. 960", "Sonata in B-flat Major, D. 963"],
         "2009-r2-10", 4),
        ("schubert:d894", ["Sonata in G Major, D. 894", "Sonata in G Major, D. 897"],
         "2009-r2-08", 4),
        ("schubert:d845", ["Sonata in A Minor, D. 845", "Sonata in A Minor, D. 848"],
         "2009-r2-09", 4),
        ("schubert:d840", ["Sonata in C Major, D841", "Sonata in C Major, D843"],
         "2009-r2-16", 4),
    ],
)  # fmt: skip
def test_movement_files_numbered_as_consecutive_catalogue_numbers(
    real_map: pl.DataFrame, work: str, titles: list[str], recital: str, parts: int
) -> None:
    assert {_work(real_map, SCHUBERT, t) for t in titles} == {work}
    performance = real_map.filter(pl.col("performance_id") == f"{recital}/{work}").sort(
        "part_index"
    )
    assert performance.height == parts
    assert performance["part_index"].to_list() == list(range(parts))
    # The files make one complete performance, as long as the work's complete performances.
    assert set(performance["scope"]) == {COMPLETE}
    complete = real_map.filter((pl.col("work_id") == work) & (pl.col("scope") == COMPLETE)).unique(
        "performance_id"
    )
    median = complete["performance_seconds"].median()
    assert 0.67 < performance["performance_seconds"][0] / median < 1.5
    assert set(performance["resolution"]) == {OVERRIDE}
    assert set(performance["maestro_error"]) == {"consecutive-catalogue-numbers"}


@needs_real_csv
def test_an_eight_minute_sonata_file_is_not_the_complete_sonata(real_map: pl.DataFrame) -> None:
    # The 2009 "Sonata in C Minor, D. 958" file lasts 8 minutes: movement 1 of a performance.
    first = _by_title(real_map, SCHUBERT, "Sonata in C Minor, D. 958").filter(
        pl.col("year") == 2009
    )
    assert (first["duration"] < 600).all()
    assert (first["part_index"] == 0).all() and (first["performance_parts"] == 4).all()
    assert (first["performance_seconds"] > 1500).all()
    # A title claiming the whole work while lasting far less is demoted to an excerpt.
    waldstein = _by_title(real_map, BEETHOVEN, "Sonata in C Major, Op. 53 'Waldstein'")
    assert waldstein["scope"].to_list() == [EXCERPT]
    assert "median" in waldstein["scope_note"][0]


@needs_real_csv
@pytest.mark.parametrize(
    ("title", "work"),
    [
        ("Prelude and Fugue in G Minor, WTC II", "bach:bwv885"),
        ("Prelude & Fugue in G Minor, WTK II", "bach:bwv885"),
        ("Prelude and Fugue in B-Moll, No. 22 WTKII", "bach:bwv891"),
        ("Prelude and Fugue in D Minor, Book II", "bach:bwv875"),
        ("Prelude and Fugue in C-sharp Major, WTC I", "bach:bwv848"),
    ],
)
def test_wtc_titles_without_bwv(real_map: pl.DataFrame, title: str, work: str) -> None:
    rows = _by_title(real_map, BACH, title)
    assert rows["work_id"].unique().to_list() == [work]
    assert set(rows["resolution"]) == {RULE}
    # Another title of the same prelude and fugue (with its BWV, or in English) joins it.
    titles = real_map.filter(pl.col("work_id") == work)["canonical_title"].unique()
    assert titles.len() >= 2 and title in titles.to_list()


@needs_real_csv
def test_a_wtc_title_whose_bwv_contradicts_its_key_stays_unresolved(
    real_map: pl.DataFrame,
) -> None:
    row = _by_title(real_map, BACH, "Prelude and Fugue in A Minor, WTC II, BWV 847")
    assert row["resolution"].to_list() == [UNRESOLVED]
    families = set(row["work_families"][0])
    assert {"bach:bwv847", "bach:bwv889"} <= families  # negatives avoid both candidates


@needs_real_csv
@pytest.mark.parametrize(
    ("composer", "abbreviated", "full", "work"),
    [
        (LISZT, "Rhapsody Esp.", "Rhapsodie Espagnole, S. 254", "liszt:s254"),
        ("Modest Mussorgsky", "Pictures at an E", "Pictures at an Exhibition",
         "mussorgsky:pictures-at-an-exhibition"),
        (LISZT, "Dante Sonata", "Après une lecture de Dante: Fantasia quasi Sonata, S.161, No. 7",
         "liszt:s161no7"),
        (LISZT, "Sonata in B Min.", "Sonata in B Minor, S. 178", "liszt:s178"),
    ],
)  # fmt: skip
def test_abbreviations(
    real_map: pl.DataFrame, composer: str, abbreviated: str, full: str, work: str
) -> None:
    assert _work(real_map, composer, abbreviated) == _work(real_map, composer, full) == work
    short = _by_title(real_map, composer, abbreviated)
    assert set(short["resolution"]) == {OVERRIDE} and set(short["maestro_error"]) == {
        "abbreviation"
    }
    # Checked against the durations: the abbreviated title lasts as long as the full one.
    long = _by_title(real_map, composer, full)
    assert 0.67 < short["duration"].median() / long["duration"].median() < 1.5


@needs_real_csv
@pytest.mark.parametrize(
    ("composer", "typo", "correct", "work"),
    [
        (BEETHOVEN, "Thirty-Two Variaions in C Minor, WoO80",
         "Thirty-Two Variations in C Minor, WoO 80", "beethoven:woo80"),
        (BACH, "Prelude and Fuge in G-sharp Minor, WTC I, BWV 863",
         "Prelude and Fugue in G-sharp Minor, WTC I, BWV 863", "bach:bwv863"),
        (BEETHOVEN, "Bagtellen, Op.126", "Bagatelles, Op. 126 (Complete)", "beethoven:op126"),
        ("Felix Mendelssohn", "Variations Seriouses, Op. 54", "Variations Serieuses, Op. 54",
         "mendelssohn:op54"),
    ],
)  # fmt: skip
def test_typos(real_map: pl.DataFrame, composer: str, typo: str, correct: str, work: str) -> None:
    assert _work(real_map, composer, typo) == _work(real_map, composer, correct) == work
    # The typo and the correct spelling are different normalized pieces, one work.
    typo_piece = _by_title(real_map, composer, typo)["piece_id"][0]
    assert typo_piece != _by_title(real_map, composer, correct)["piece_id"][0]


@needs_real_csv
@pytest.mark.parametrize(
    ("maestro_composer", "title", "work", "real_composer"),
    [
        (CHOPIN, 'Variations and Fugue in E-flat Major, Op. 35, "Eroica"', "beethoven:op35",
         BEETHOVEN),
        ("Claude Debussy", "Barcarolle, Op. 60", "chopin:op60", CHOPIN),
        ("Domenico Scarlatti", "Sonata in D Major, K. 576", "mozart:k576",
         "Wolfgang Amadeus Mozart"),
        (CHOPIN, "Preludes, Book II, L 123, VI. Général Lavine - eccentric", "debussy:l123no6",
         "Claude Debussy"),
    ],
)  # fmt: skip
def test_composer_errors(
    real_map: pl.DataFrame, maestro_composer: str, title: str, work: str, real_composer: str
) -> None:
    rows = _by_title(real_map, maestro_composer, title)
    assert rows["work_id"].unique().to_list() == [work]
    assert rows["work_composer"].unique().to_list() == [real_composer]
    assert set(rows["maestro_error"]) == {"composer-error"}
    # It joins the real composer's performances of the work (or of its set, Book II).
    families = set(rows["work_families"][0])
    others = real_map.filter(
        (pl.col("canonical_composer") == real_composer)
        & pl.col("work_families").list.eval(pl.element().is_in(list(families))).list.any()
    )
    assert others.height >= 1


@needs_real_csv
def test_real_csv_recitals_gather_2004_and_2009_sessions(real_map: pl.DataFrame) -> None:
    by_year = real_map.group_by("year").agg(
        pl.col("session_id").n_unique().alias("sessions"),
        pl.col("recital_id").n_unique().alias("recitals"),
    )
    counts = {year: (s, r) for year, s, r in by_year.iter_rows()}
    assert counts[2004][1] < counts[2004][0] and counts[2009][1] < counts[2009][0]
    # Every recital's files share one year; a session never spans two recitals.
    assert real_map.group_by("recital_id").agg(pl.col("year").n_unique())["year"].max() == 1
    assert (
        real_map.group_by("session_id").agg(pl.col("recital_id").n_unique())["recital_id"].max()
        == 1
    )
