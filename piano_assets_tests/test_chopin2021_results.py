"""Chopin 2021 results: the curated prize list, the ordinal encoding, page parsing, cross-check."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from piano_assets.chopin2021.results import (
    PLACEMENT_ORDER,
    PLACEMENT_ORDINAL,
    CompetitionResults,
    PerformerResult,
    Placement,
    ResultsError,
    ResultsParseError,
    Round,
    collect_site_results,
    cross_check,
    find_rounds,
    load_curated,
    parse_announcement,
    parse_competitor_index,
    parse_competitor_page,
    parse_prize,
    placement_for,
    resolve_results,
)
from piano_assets.sample.chopin2021_world import build_chopin2021_world
from piano_assets.sources.web import PageFetcher

# The official prize list of the XVIII Competition (2021), as announced (see the curated file's
# sources: japan-forward.com quoting the announcement, Wikipedia, money.pl). Written out here so
# the test fails if the curated file drifts.
PUBLISHED_PRIZES = [
    ("1st Prize", "Bruce (Xiaoyu) Liu"),
    ("2nd Prize ex aequo", "Alexander Gadjiev"),
    ("2nd Prize ex aequo", "Kyohei Sorita"),
    ("3rd Prize", "Martin Garcia Garcia"),
    ("4th Prize ex aequo", "Aimi Kobayashi"),
    ("4th Prize ex aequo", "Jakub Kuszlik"),
    ("5th Prize", "Leonora Armellini"),
    ("6th Prize", "J J Jun Li Bui"),
]
FINALISTS_WITHOUT_PRIZE = {"Eva Gevorgyan", "Kamil Pacholec", "Hao Rao", "Hyuk Lee"}
STAGE_III_ELIMINATED = {
    "Piotr Alexewicz",
    "Michelle Candotti",
    "Yasuko Furumi",
    "Avery Gagliano",
    "Nikolay Khozyainov",
    "Su Yeon Kim",
    "Mateusz Krzyżowski",
    "Szymon Nehring",
    "Miyu Shindo",
    "Hayato Sumino",
    "Andrzej Wierciński",
}


@pytest.fixture(scope="module")
def curated() -> CompetitionResults:
    return load_curated().results()


def test_curated_prize_list_is_the_published_one(curated: CompetitionResults) -> None:
    assert curated.prize_list() == PUBLISHED_PRIZES
    by_name = {p.name: p for p in curated.performers}
    # Shared prizes: two 2nd prizes, two 4th prizes, and no 7th or 8th place.
    assert [by_name[n].placement for n in ("Alexander Gadjiev", "Kyohei Sorita")] == [
        Placement.SECOND_PRIZE
    ] * 2
    assert [by_name[n].placement for n in ("Aimi Kobayashi", "Jakub Kuszlik")] == [
        Placement.FOURTH_PRIZE
    ] * 2
    assert by_name["Martin Garcia Garcia"].placement is Placement.THIRD_PRIZE
    assert by_name["Bruce (Xiaoyu) Liu"].country == "Canada"
    assert by_name["Alexander Gadjiev"].country == "Italy/Slovenia"


def test_finalists_and_stage_sizes(curated: CompetitionResults) -> None:
    finalists = {p.name for p in curated.performers if p.furthest_round is Round.FINAL}
    assert len(finalists) == 12
    assert finalists - {name for _, name in PUBLISHED_PRIZES} == FINALISTS_WITHOUT_PRIZE
    for name in FINALISTS_WITHOUT_PRIZE:
        performer = curated.find(name)
        assert performer is not None
        assert performer.placement is Placement.FINALIST
        assert not performer.laureate
        assert performer.prize is None
    stage_iii = {p.name for p in curated.performers if p.furthest_round is Round.STAGE_III}
    assert stage_iii == STAGE_III_ELIMINATED
    counts = curated.counts_by_round()
    assert (counts[Round.FINAL], counts[Round.STAGE_III], counts[Round.STAGE_II]) == (12, 23, 45)


def test_special_prizes(curated: CompetitionResults) -> None:
    specials = {p.name: p.special_prizes for p in curated.performers if p.special_prizes}
    assert specials == {
        "Alexander Gadjiev": ("Krystian Zimerman Prize for the best performance of a sonata",),
        "Martin Garcia Garcia": (
            "Warsaw Philharmonic Prize for the best performance of a concerto",
        ),
        "Jakub Kuszlik": ("Polish Radio Prize for the best performance of mazurkas",),
    }


def test_every_curated_fact_is_cited() -> None:
    curated_file = load_curated()
    for performer in curated_file.performers:
        assert performer.citations["name"] and performer.citations["furthest_round"]
        for ids in performer.citations.values():
            for source_id in ids:
                assert curated_file.sources[source_id].url.startswith("http")
    assert curated_file.stage_counts[Round.STAGE_I]["count"] == 87


def test_an_uncited_fact_is_refused() -> None:
    data = json.loads(
        (Path(__file__).parents[1] / "piano_assets/chopin2021/curated_results_2021.json").read_text(
            encoding="utf-8"
        )
    )
    del data["performers"][0]["citations"]["prize"]
    with pytest.raises(ResultsError, match=r"Bruce \(Xiaoyu\) Liu: no citation for prize"):
        load_curated(json.dumps(data))


def test_ordinal_order_holds() -> None:
    # 1st > 2nd > … > 6th > finalist > stage III > stage II > stage I > preliminary.
    expected = [
        Placement.FIRST_PRIZE,
        Placement.SECOND_PRIZE,
        Placement.THIRD_PRIZE,
        Placement.FOURTH_PRIZE,
        Placement.FIFTH_PRIZE,
        Placement.SIXTH_PRIZE,
        Placement.FINALIST,
        Placement.STAGE_III,
        Placement.STAGE_II,
        Placement.STAGE_I,
        Placement.PRELIMINARY,
    ]
    assert list(PLACEMENT_ORDER) == expected
    values = [PLACEMENT_ORDINAL[p] for p in expected]
    assert values == sorted(values, reverse=True) and len(set(values)) == len(values)
    assert placement_for(Round.FINAL, None) is Placement.FINALIST
    assert placement_for(Round.FINAL, "2nd Prize ex aequo") is Placement.SECOND_PRIZE
    assert placement_for(Round.STAGE_II, None) is Placement.STAGE_II
    assert parse_prize("4th Prize ex aequo") == (4, True)
    with pytest.raises(ResultsError):
        parse_prize("Honourable mention")


def test_a_prize_needs_the_final() -> None:
    with pytest.raises(ValueError, match="furthest round"):
        PerformerResult(name="A B", country="X", furthest_round=Round.STAGE_III, prize="5th Prize")


@pytest.mark.parametrize(
    ("text", "rounds"),
    [
        ("first round (18th Chopin Competition, Warsaw)", [Round.STAGE_I]),
        ("(Stage II), session 1", [Round.STAGE_II]),
        ("XVIII Chopin Competition, third stage", [Round.STAGE_III]),
        ("final round", [Round.FINAL]),
        ("II etap", [Round.STAGE_II]),
        ("preliminary round, session 2", [Round.PRELIMINARY]),
        ("The finalists", []),
        ("XVIII International Chopin Competition", []),
    ],
)
def test_find_rounds(text: str, rounds: list[Round]) -> None:
    assert find_rounds(text) == rounds


STAGE_II_PAGE = """<html><body><main><article>
<h1>Stage I results</h1>
<p>By the verdict of the Jury 45 participants representing 14 countries qualified to Stage II.
They are:</p>
<p>1. Mr Piotr Alexewicz, Poland</p>
<p>2. Ms Leonora Armellini, Italy</p>
<p>33. Mr Aristo Sham, China, Hong Kong</p>
<p>Stage II auditions will be held on October 9-12, Warsaw, Poland.</p>
</article></main></body></html>"""


def test_parse_qualifiers_announcement() -> None:
    page = parse_announcement(STAGE_II_PAGE, "https://chopin2020.pl/en/news/article/238/x")
    assert page.kind == "qualified" and page.round is Round.STAGE_II
    assert [(p.name, p.country) for p in page.listed] == [
        ("Piotr Alexewicz", "Poland"),
        ("Leonora Armellini", "Italy"),
        ("Aristo Sham", "China, Hong Kong"),
    ]


def test_parse_ordered_list_and_prizes() -> None:
    ordered = (
        "<main><p>Twelve pianists qualified to the final:</p><ol>"
        "<li>Ms Eva Gevorgyan, Russia/Armenia</li><li>Mr Hao Rao, China</li></ol></main>"
    )
    finalists = parse_announcement(ordered, "u")
    assert finalists.round is Round.FINAL
    assert [p.name for p in finalists.listed] == ["Eva Gevorgyan", "Hao Rao"]

    prizes = parse_announcement(
        "<main><p>1st Prize – Mr Bruce (Xiaoyu) Liu, Canada</p>"
        "<p>2nd Prize ex aequo – Mr Alexander Gadjiev, Italy/Slovenia<br>"
        "2nd prize EX AEQUO — Mr Kyohei Sorita, Japan</p>"
        "<p>Polish Radio Prize for the best performance of mazurkas – Mr Jakub Kuszlik, Poland</p>"
        "</main>",
        "u",
    )
    assert prizes.kind == "prizes"
    assert [(a.prize, a.name) for a in prizes.prizes] == [
        ("1st Prize", "Bruce (Xiaoyu) Liu"),
        ("2nd Prize ex aequo", "Alexander Gadjiev"),
        ("2nd Prize ex aequo", "Kyohei Sorita"),
    ]
    assert [(a.prize, a.name) for a in prizes.special_prizes] == [
        ("Polish Radio Prize for the best performance of mazurkas", "Jakub Kuszlik")
    ]


@pytest.mark.parametrize(
    ("html", "message"),
    [
        ("", "no text content"),
        ("<html><body><div><p>Welcome to the competition", "neither a prize list"),
        (
            "<main><p>45 pianists qualified to Stage II.</p><p>Alexewicz Piotr (Poland)</p>"
            "<p><b>2. Armellini</p></main>",
            "announces qualifiers to stage II but lists none",
        ),
    ],
)
def test_malformed_announcement_gives_a_clear_error(html: str, message: str) -> None:
    url = "https://chopin2020.pl/en/news/article/999/broken"
    with pytest.raises(ResultsParseError, match=message) as raised:
        parse_announcement(html, url)
    assert raised.value.url == url
    assert str(raised.value).startswith(url)


def test_parse_competitor_pages() -> None:
    index = parse_competitor_index(
        '<ul><li><a href="competitor/1/liu-bruce-xiaoyu">Bruce (Xiaoyu) Liu</a></li>'
        '<li><a href="/en/competitors">all</a></li></ul>',
        "https://chopin2020.pl/en/competitors",
    )
    assert index == ["https://chopin2020.pl/en/competitor/1/liu-bruce-xiaoyu"]
    page = parse_competitor_page(
        '<h1>Mr Bruce (Xiaoyu) Liu</h1><p class="competitor-country">Canada</p>'
        "<h2>Stage I</h2><ul><li>Ballade in F major, Op. 38</li></ul>"
        "<h2>Final</h2><ul><li>Piano Concerto in E minor, Op. 11</li></ul>",
        index[0],
    )
    assert (page.name, page.country) == ("Bruce (Xiaoyu) Liu", "Canada")
    assert page.repertoire == {
        Round.STAGE_I: ["Ballade in F major, Op. 38"],
        Round.FINAL: ["Piano Concerto in E minor, Op. 11"],
    }
    with pytest.raises(ResultsParseError, match="no <h1>"):
        parse_competitor_page("<p>Canada</p>", index[0])
    with pytest.raises(ResultsParseError, match="links to no competitor page"):
        parse_competitor_index("<a href='/en/news'>news</a>", "https://x/en/competitors")


def test_site_of_the_sample_world_reproduces_the_curated_results(tmp_path: Path) -> None:
    world = build_chopin2021_world(tmp_path / "world")
    fetcher = PageFetcher(tmp_path / "raw")
    site = collect_site_results(world.chopin2021_base_url, fetcher.fetch)
    assert site.results.prize_list() == PUBLISHED_PRIZES
    check = cross_check(site.results, load_curated().results())
    assert check.agrees and check.compared == len(site.results.performers)
    # Raw pages are kept for provenance.
    assert len(list((tmp_path / "raw").glob("*.raw"))) == len(site.pages)


def test_cross_check_reports_every_disagreement(curated: CompetitionResults) -> None:
    changed = [
        p.model_copy(update={"prize": "3rd Prize"}) if p.name == "Kyohei Sorita" else p
        for p in curated.performers
    ]
    changed.append(PerformerResult(name="New Name", country="Poland", furthest_round=Round.STAGE_I))
    site = CompetitionResults(source="site", performers=tuple(changed[1:]))
    check = cross_check(site, curated)
    assert not check.agrees
    assert [(d.performer, d.field, d.site, d.curated) for d in check.disagreements] == [
        ("Kyohei Sorita", "prize", "3rd Prize", "2nd Prize ex aequo")
    ]
    assert check.only_on_site == ["New Name"]
    assert check.only_curated == ["Bruce (Xiaoyu) Liu"]

    resolved, origin = resolve_results(site, curated)
    assert resolved.find("Kyohei Sorita").prize == "3rd Prize"  # the official site wins
    assert origin["Bruce (Xiaoyu) Liu"] == "curated"  # the curated file fills the gap
    assert origin["New Name"] == "site"
    assert resolved.find("Martín García García").name == "Martin Garcia Garcia"
