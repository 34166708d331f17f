"""Hostile results pages: parsing time grows linearly with the page, and names come out clean.

The cost is compared as a ratio of a large page to a small one (CPU time of this process,
best of three), never as an absolute time: a linear parser gives about 4 for 4× the items;
the quadratic one gave about 15.
"""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Callable

import pytest

from piano_assets.chopin2021.names import clean_text
from piano_assets.chopin2021.results import (
    PerformerResult,
    Round,
    parse_announcement,
    parse_competitor_index,
    parse_competitor_page,
    parse_news_index,
)

SMALL, LARGE = 500, 2_000
# 4× the items: linear is ~4; leave room for a noisy shared machine, stay far below ~16.
MAX_RATIO = 8.0


def ordered_list(n: int) -> str:
    items = "".join(f"<li>Mr Name{i} Surname, Poland</li>" for i in range(n))
    return f"<main><p>They qualified to Stage II:</p><ol>{items}</ol></main>"


def prize_words(n: int) -> str:
    # No dash after them: the special-prize pattern used to try every "prize" as a start.
    return "<main><p>1st Prize – Mr Bruce Liu, Canada</p><p>" + "prize " * n + "</p></main>"


def competitor_index(n: int) -> str:
    links = "".join(f'<li><a href="competitor/{i}/x">X</a></li>' for i in range(n))
    return f"<ul>{links}{links}</ul>"  # every link twice: duplicates are dropped


def news_index(n: int) -> str:
    links = "".join(f'<li><a href="article/{i}/results">Results {i}</a></li>' for i in range(n))
    return f"<ul>{links}{links}</ul>"


def competitor_sections(n: int) -> str:
    sections = "".join(f"<h2>Stage I</h2><ul><li>Piece {i}</li></ul>" for i in range(n))
    return f"<h1>Mr A B</h1><p class='country'>Poland</p>{sections}"


PAGES: dict[str, tuple[Callable[[int], str], Callable[[str], object]]] = {
    "ordered list of qualifiers": (ordered_list, lambda h: parse_announcement(h, "u")),
    "a line of 'prize' words": (prize_words, lambda h: parse_announcement(h, "u")),
    "competitors index": (
        competitor_index,
        lambda h: parse_competitor_index(h, "https://x/en/competitors"),
    ),
    "news index": (news_index, lambda h: parse_news_index(h, "https://x/en/news")),
    "competitor page sections": (competitor_sections, lambda h: parse_competitor_page(h, "u")),
}


def _cpu_seconds(parse: Callable[[str], object], html: str, repeat: int) -> float:
    """CPU seconds of `repeat` parses, best of three."""
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        for _ in range(repeat):
            parse(html)
        best = min(best, time.process_time() - started)
    return best


@pytest.mark.parametrize("kind", list(PAGES))
def test_parsing_grows_linearly(kind: str) -> None:
    make, parse = PAGES[kind]
    small, large = make(SMALL), make(LARGE)
    once = _cpu_seconds(parse, small, 1)  # also warms up (imports, regex compilation)
    repeat = max(1, round(0.01 / max(once, 1e-5)))  # ~10 ms a sample: above the jitter
    ratio = _cpu_seconds(parse, large, repeat) / _cpu_seconds(parse, small, repeat)
    assert ratio < MAX_RATIO, f"{kind}: {LARGE:,} items cost {ratio:.1f}× {SMALL:,} items"


def test_large_pages_still_parse_right() -> None:
    listed = parse_announcement(ordered_list(LARGE), "u").listed
    assert len(listed) == LARGE and listed[-1].name == f"Name{LARGE - 1} Surname"
    assert len(parse_competitor_index(competitor_index(LARGE), "https://x/en/c")) == LARGE
    assert len(parse_news_index(news_index(LARGE), "https://x/en/news")) == LARGE
    page = parse_competitor_page(competitor_sections(50), "u")
    assert page.repertoire == {Round.STAGE_I: ["Piece 49"]}  # a round's last section wins


def _has_controls(text: str) -> bool:
    return any(
        unicodedata.category(c) == "Cc" or c in "\u202a\u202b\u202c\u202d\u202e" for c in text
    )


def test_control_characters_are_stripped_from_names_and_countries() -> None:
    qualified = parse_announcement(
        "<main><p>They qualified to Stage II:</p>"
        "<p>1. Mr Bru\x00ce Liu\x07, Can\x1bada\x7f</p>"
        "<p>2. Ms Aimi\u202e Kobayashi\x85, Japan</p></main>",
        "u",
    )
    assert [(p.name, p.country) for p in qualified.listed] == [
        ("Bruce Liu", "Canada"),
        ("Aimi Kobayashi", "Japan"),
    ]
    prizes = parse_announcement(
        "<main><p>1st Prize – Mr Bruce\x00 (Xiaoyu) Liu, Canada\x01</p>"
        "<p>Polish Radio Prize\x00 for mazurkas – Mr Jakub\x9b Kuszlik, Poland</p></main>",
        "u",
    )
    names = [(a.prize, a.name, a.country) for a in (*prizes.prizes, *prizes.special_prizes)]
    assert names == [
        ("1st Prize", "Bruce (Xiaoyu) Liu", "Canada"),
        ("Polish Radio Prize for mazurkas", "Jakub Kuszlik", "Poland"),
    ]
    page = parse_competitor_page(
        "<h1>Mr Kyohei\x00 \u202dSorita\x0b</h1><p class='country'>Ja\x00pan</p>"
        "<h2>Stage I</h2><ul><li>Ballade\x07 in F minor</li></ul>",
        "u",
    )
    assert (page.name, page.country) == ("Kyohei Sorita", "Japan")
    assert page.repertoire[Round.STAGE_I] == ["Ballade in F minor"]
    for text in (page.name, page.country, *[p.name for p in qualified.listed]):
        assert not _has_controls(text)


def test_results_records_refuse_to_keep_control_characters() -> None:
    performer = PerformerResult(name="Hao\x00 Rao", country="China\x1f", furthest_round=Round.FINAL)
    assert (performer.name, performer.country) == ("Hao Rao", "China")
    assert clean_text(" a\x00b\u2066c\td \u200dX ") == "abc d \u200dX"  # ZWJ is a letter's business
