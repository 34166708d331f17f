"""Title matching, recording keys and the catalog of the Chopin 2021 tier."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from piano_assets.chopin2021.catalog import build_catalog, recording_key
from piano_assets.chopin2021.matching import MatchStatus, Roster, match_title
from piano_assets.chopin2021.names import name_key, name_tokens, surname_first_slug
from piano_assets.chopin2021.results import (
    CompetitionResults,
    PerformerResult,
    Round,
    load_curated,
)
from piano_assets.engine.files import validate_key


@pytest.fixture(scope="module")
def roster() -> Roster:
    return Roster(load_curated().results())


@pytest.mark.parametrize(
    ("title", "performer", "round_", "piece"),
    [
        # The channel's pattern, in capitals, with a name in parentheses.
        (
            "BRUCE (XIAOYU) LIU – first round (18th Chopin Competition, Warsaw)",
            "Bruce (Xiaoyu) Liu",
            Round.STAGE_I,
            None,
        ),
        # Single piece, the parenthesised name alone, plain hyphen.
        (
            "Xiaoyu Liu - Piano Concerto in E minor, Op. 11 (final round)",
            "Bruce (Xiaoyu) Liu",
            Round.FINAL,
            "Piano Concerto in E minor, Op. 11",
        ),
        (
            "Bruce (Xiaoyu) Liu – Ballade in F minor Op. 52 (first stage)",
            "Bruce (Xiaoyu) Liu",
            Round.STAGE_I,
            "Ballade in F minor Op. 52",
        ),
        # Diacritics the published list does not use.
        (
            "MARTÍN GARCÍA GARCÍA – final round (18th Chopin Competition, Warsaw)",
            "Martin Garcia Garcia",
            Round.FINAL,
            None,
        ),
        # Surname first, in capitals.
        (
            "KUSZLIK Jakub – third round (XVIII Chopin Competition)",
            "Jakub Kuszlik",
            Round.STAGE_III,
            None,
        ),
        # Spaced initials written together; Polish letters.
        ("JJ Jun Li Bui – second round", "J J Jun Li Bui", Round.STAGE_II, None),
        ("Mateusz Krzyzowski – II etap", "Mateusz Krzyżowski", Round.STAGE_II, None),
        ("ADAM KAŁDUŃSKI – second round", "Adam Kałduński", Round.STAGE_II, None),
        # A shared family name must not confuse two performers.
        ("Jaeyoon Lee – first round", "Jaeyoon Lee", Round.STAGE_I, None),
        ("HYUK LEE – final round", "Hyuk Lee", Round.FINAL, None),
    ],
)
def test_titles_that_match(
    roster: Roster, title: str, performer: str, round_: Round, piece: str | None
) -> None:
    match = match_title(title, roster)
    assert match.status is MatchStatus.MATCHED, match.reason
    assert (match.performer, match.round, match.piece) == (performer, round_, piece)


@pytest.mark.parametrize(
    ("title", "status", "reason"),
    [
        (
            "The 18th International Fryderyk Chopin Piano Competition (Stage I), session 3, "
            "04.10.2021",
            MatchStatus.SESSION,
            "whole session",
        ),
        ("XVIII Chopin Competition, first stage (session 3)", MatchStatus.SESSION, "session"),
        (
            "SEONG-JIN CHO – final round (17th Chopin Competition, Warsaw)",
            MatchStatus.UNMATCHED,
            "another edition",
        ),
        (
            "Aimi Kobayashi – interview after the final",
            MatchStatus.UNMATCHED,
            "not a competition performance",
        ),
        ("Chopin – Nocturne in C minor (first round)", MatchStatus.UNMATCHED, "names no performer"),
        (
            "Aimi Kobayashi and Kyohei Sorita – second round",
            MatchStatus.AMBIGUOUS,
            "several performers",
        ),
        ("Kamil Pacholec – Mazurkas Op. 56", MatchStatus.AMBIGUOUS, "names no round"),
        ("Jaeyoon Lee – final round", MatchStatus.AMBIGUOUS, "furthest round reached was stage I"),
        ("Liu – first round", MatchStatus.UNMATCHED, "names no performer"),
    ],
)
def test_titles_for_the_ledger(
    roster: Roster, title: str, status: MatchStatus, reason: str
) -> None:
    match = match_title(title, roster)
    assert match.status is status
    assert reason in match.reason
    assert match.performer is None


def test_playlist_title_supplies_a_missing_round(roster: Roster) -> None:
    match = match_title("Kamil Pacholec – Mazurkas Op. 56", roster, playlist="Stage III")
    assert (match.status, match.round, match.piece) == (
        MatchStatus.MATCHED,
        Round.STAGE_III,
        "Mazurkas Op. 56",
    )


def test_name_normalization() -> None:
    assert name_key("KUSZLIK Jakub") == name_key("Jakub Kuszlik")
    assert name_key("Martín García García") == name_key("Martin Garcia Garcia")
    assert (
        name_tokens("J J Jun Li Bui") == name_tokens("JJ Jun Li Bui") == ["jj", "jun", "li", "bui"]
    )
    assert name_tokens("Ms Aleksandra H. Dąbek") == ["aleksandra", "h", "dabek"]
    assert surname_first_slug("Bruce (Xiaoyu) Liu") == "liu-bruce-xiaoyu"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Bruce (Xiaoyu) Liu", "s1-liu-bruce-xiaoyu-01"),
        ("Andrzej Wierciński", "s1-wiercinski-andrzej-01"),
        ("Łukasz Żółć-Øster", "s1-oster-lukasz-zolc-01"),
        ("../../etc/passwd", "s1-passwd-etc-01"),
        ("CON / nul: *?", "s1-nul-con-01"),
    ],
)
def test_keys_are_safe_file_names(name: str, expected: str) -> None:
    key = recording_key(Round.STAGE_I, name, 1)
    assert key == expected
    assert validate_key(key) == key and "/" not in key and ".." not in key


def test_keys_of_names_without_latin_letters_and_long_names() -> None:
    chinese = recording_key(Round.FINAL, "刘晓禹", 3)
    assert (
        validate_key(chinese) == chinese and chinese.startswith("f-p") and chinese.endswith("-03")
    )
    assert chinese == recording_key(Round.FINAL, "刘晓禹", 3)  # stable
    assert chinese != recording_key(Round.FINAL, "李四", 3)
    long_key = recording_key(Round.STAGE_II, "Name " * 60, 12)
    assert len(long_key) <= 128 and long_key.endswith("-12") and validate_key(long_key)


@dataclass(frozen=True)
class Item:
    video_id: str
    title: str
    url: str = "https://www.youtube.com/watch?v=x"
    playlist: str | None = None
    duration_s: float | None = 60.0
    upload_date: str | None = "20211005"


def _results() -> CompetitionResults:
    return CompetitionResults(
        source="test",
        performers=(
            PerformerResult(
                name="Bruce (Xiaoyu) Liu",
                country="Canada",
                furthest_round=Round.FINAL,
                prize="1st Prize",
            ),
            PerformerResult(
                name="Eva Gevorgyan", country="Russia/Armenia", furthest_round=Round.FINAL
            ),
        ),
    )


def test_catalog_keys_are_stable_and_never_reused() -> None:
    first = build_catalog(
        [
            Item(
                "b",
                "Bruce (Xiaoyu) Liu – Ballade in F major, Op. 38 (first round)",
                upload_date="20211004",
            ),
            Item("a", "BRUCE (XIAOYU) LIU – first round (18th Chopin Competition, Warsaw)"),
            Item("z", "EVA GEVORGYAN – final round"),
            Item("z", "EVA GEVORGYAN – final round"),  # listed twice (channel and playlist)
            Item("s", "XVIII Chopin Competition, first stage (session 3)"),
        ],
        _results(),
    )
    keys = {spec.video_id: spec.recording_id for spec in first.recordings}
    # Numbers follow upload order, so the earlier upload gets 01.
    assert keys == {
        "b": "s1-liu-bruce-xiaoyu-01",
        "a": "s1-liu-bruce-xiaoyu-02",
        "z": "f-gevorgyan-eva-01",
    }
    assert [(item.video_id, item.status) for item in first.ledger] == [("s", MatchStatus.SESSION)]
    gevorgyan = next(s for s in first.recordings if s.video_id == "z")
    assert (gevorgyan.placement.value, gevorgyan.ordinal, gevorgyan.prize) == ("finalist", 4, None)

    # A new, earlier video and a video gone from the listing: old keys stay, numbers are not reused.
    second = build_catalog(
        [
            Item(
                "new",
                "Bruce (Xiaoyu) Liu – Etude Op. 10 No. 1 (first round)",
                upload_date="20211001",
            ),
            Item("a", "BRUCE (XIAOYU) LIU – first round (18th Chopin Competition, Warsaw)"),
            Item("z", "EVA GEVORGYAN – final round"),
        ],
        _results(),
        previous=first.recordings,
    )
    keys = {spec.video_id: spec.recording_id for spec in second.recordings}
    assert keys == {
        "new": "s1-liu-bruce-xiaoyu-03",
        "a": "s1-liu-bruce-xiaoyu-02",
        "z": "f-gevorgyan-eva-01",
    }
    assert second.new_keys == ["s1-liu-bruce-xiaoyu-03"]
    assert second.stale == ["s1-liu-bruce-xiaoyu-01"]
