"""Results of the XVIII International Chopin Piano Competition (2021). Dagster-free.

Two sources:

* the official site's pages (the 2021 edition kept its 2020 name: chopin2020.pl; the base URL
  is configuration), parsed here with BeautifulSoup, raw pages kept for provenance;
* a curated file shipped with the package (`curated_results_2021.json`), every fact with a
  citation: the offline source and a cross-check of the site.

Ordinal encoding (written down here and in `competition/README.md`): higher is better.

    1st prize = 10 > 2nd = 9 > 3rd = 8 > 4th = 7 > 5th = 6 > 6th = 5
    > finalist without a prize = 4 > stage III = 3 > stage II = 2 > stage I = 1
    > preliminary round only = 0

Shared (ex aequo) prizes share an ordinal. Finalists without a prize are not laureates.
Caveat: the ordinal mixes two kinds of evidence. Within the final, prizes rank performers
heard on the same programme (a concerto); across rounds, "eliminated in stage II" versus
"eliminated in stage III" compares different repertoire heard on different days by votes to
advance, not by a ranking, so comparisons across rounds are noisier than within a round.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from enum import StrEnum
from importlib import resources
from typing import Any, Protocol
from urllib.parse import urljoin

from bs4 import BeautifulSoup, Tag
from pydantic import BaseModel, ConfigDict, Field, computed_field, field_validator, model_validator

from piano_assets.chopin2021.names import clean_text, fold, name_key, strip_honorific
from piano_assets.sources.errors import OutOfScopeError
from piano_assets.sources.urls import CrawlScope

CURATED_RESOURCE = "curated_results_2021.json"
DEFAULT_BASE_URL = "https://chopin2020.pl/"


class ResultsError(ValueError):
    """Results are inconsistent or cannot be read; the message names the source and the cause."""


class ResultsParseError(ResultsError):
    """An official page does not hold what its kind of page must hold."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason


# -- rounds, placements, ordinal ---------------------------------------------------------------


class Round(StrEnum):
    PRELIMINARY = "preliminary"
    STAGE_I = "stage_i"
    STAGE_II = "stage_ii"
    STAGE_III = "stage_iii"
    FINAL = "final"

    @property
    def order(self) -> int:
        return ROUND_ORDER.index(self)

    @property
    def label(self) -> str:
        return ROUND_LABELS[self]

    @property
    def code(self) -> str:
        """Short code used in recording keys."""
        return ROUND_CODES[self]


ROUND_ORDER: tuple[Round, ...] = (
    Round.PRELIMINARY,
    Round.STAGE_I,
    Round.STAGE_II,
    Round.STAGE_III,
    Round.FINAL,
)
ROUND_LABELS: dict[Round, str] = {
    Round.PRELIMINARY: "preliminary round",
    Round.STAGE_I: "stage I",
    Round.STAGE_II: "stage II",
    Round.STAGE_III: "stage III",
    Round.FINAL: "final",
}
ROUND_CODES: dict[Round, str] = {
    Round.PRELIMINARY: "pr",
    Round.STAGE_I: "s1",
    Round.STAGE_II: "s2",
    Round.STAGE_III: "s3",
    Round.FINAL: "f",
}


class Placement(StrEnum):
    FIRST_PRIZE = "1st_prize"
    SECOND_PRIZE = "2nd_prize"
    THIRD_PRIZE = "3rd_prize"
    FOURTH_PRIZE = "4th_prize"
    FIFTH_PRIZE = "5th_prize"
    SIXTH_PRIZE = "6th_prize"
    FINALIST = "finalist"  # reached the final, no prize: not a laureate
    STAGE_III = "stage_iii"
    STAGE_II = "stage_ii"
    STAGE_I = "stage_i"
    PRELIMINARY = "preliminary"

    @property
    def ordinal(self) -> int:
        return PLACEMENT_ORDINAL[self]


# The numeric encoding: higher is better; ex aequo prizes share a value.
PLACEMENT_ORDINAL: dict[Placement, int] = {
    Placement.FIRST_PRIZE: 10,
    Placement.SECOND_PRIZE: 9,
    Placement.THIRD_PRIZE: 8,
    Placement.FOURTH_PRIZE: 7,
    Placement.FIFTH_PRIZE: 6,
    Placement.SIXTH_PRIZE: 5,
    Placement.FINALIST: 4,
    Placement.STAGE_III: 3,
    Placement.STAGE_II: 2,
    Placement.STAGE_I: 1,
    Placement.PRELIMINARY: 0,
}
# Placements from best to worst: the order the encoding must respect.
PLACEMENT_ORDER: tuple[Placement, ...] = tuple(
    sorted(PLACEMENT_ORDINAL, key=lambda p: -PLACEMENT_ORDINAL[p])
)
_PRIZE_PLACEMENTS: dict[int, Placement] = {
    1: Placement.FIRST_PRIZE,
    2: Placement.SECOND_PRIZE,
    3: Placement.THIRD_PRIZE,
    4: Placement.FOURTH_PRIZE,
    5: Placement.FIFTH_PRIZE,
    6: Placement.SIXTH_PRIZE,
}
_ELIMINATED_PLACEMENTS: dict[Round, Placement] = {
    Round.PRELIMINARY: Placement.PRELIMINARY,
    Round.STAGE_I: Placement.STAGE_I,
    Round.STAGE_II: Placement.STAGE_II,
    Round.STAGE_III: Placement.STAGE_III,
    Round.FINAL: Placement.FINALIST,
}
CAVEAT_ACROSS_ROUNDS = (
    "Comparisons across rounds are noisier than within the final: advancing is a vote on "
    "different repertoire heard on different days, not a ranking."
)

_PRIZE_TEXT = re.compile(
    r"^\s*(?P<rank>[1-6])\s*(?:st|nd|rd|th)\s+prize(?P<shared>\s+ex\s+aequo)?\s*$", re.IGNORECASE
)


def parse_prize(prize: str) -> tuple[int, bool]:
    """'2nd Prize ex aequo' -> (2, True). Raises ResultsError for anything else."""
    match = _PRIZE_TEXT.match(prize)
    if match is None:
        raise ResultsError(f"prize {prize!r} is not of the form '<n>th Prize [ex aequo]'")
    return int(match["rank"]), match["shared"] is not None


def placement_for(furthest_round: Round, prize: str | None) -> Placement:
    if prize is not None:
        rank, _ = parse_prize(prize)
        return _PRIZE_PLACEMENTS[rank]
    return _ELIMINATED_PLACEMENTS[furthest_round]


def find_rounds(text: str) -> list[Round]:
    """Every round named in free text: 'Stage II', 'second round', 'II etap', 'final', ..."""
    folded = " ".join(re.findall(r"[a-z0-9]+", fold(text)))
    patterns: tuple[tuple[str, Round], ...] = (
        (r"\b(?:preliminary|preliminaries|eliminacje|eliminations?)\b", Round.PRELIMINARY),
        (
            r"\b(?:stage|round|etap) i\b|\bi (?:stage|round|etap)\b"
            r"|\b(?:first|1st) (?:stage|round)\b|\bstage 1\b",
            Round.STAGE_I,
        ),
        (
            r"\b(?:stage|round|etap) ii\b|\bii (?:stage|round|etap)\b"
            r"|\b(?:second|2nd) (?:stage|round)\b|\bstage 2\b",
            Round.STAGE_II,
        ),
        (
            r"\b(?:stage|round|etap) iii\b|\biii (?:stage|round|etap)\b"
            r"|\b(?:third|3rd) (?:stage|round)\b|\bstage 3\b",
            Round.STAGE_III,
        ),
        (r"\bfinals?\b|\bfinal (?:round|stage)\b", Round.FINAL),
    )
    return [round_ for pattern, round_ in patterns if re.search(pattern, folded)]


def parse_round(text: str) -> Round | None:
    """The one round named in `text`; None when it names none or several."""
    rounds = find_rounds(text)
    return rounds[0] if len(rounds) == 1 else None


# -- records -----------------------------------------------------------------------------------


class PerformerResult(BaseModel):
    """One performer's result, as published."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(description="The name as published (honorific removed).")
    country: str = Field(description="The country as published, e.g. 'Italy/Slovenia'.")
    furthest_round: Round
    prize: str | None = Field(
        default=None, description="Exactly as announced, e.g. '2nd Prize ex aequo'."
    )
    special_prizes: tuple[str, ...] = ()
    repertoire: dict[Round, tuple[str, ...]] = Field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    note: str | None = None

    @field_validator("name", "country", mode="before")
    @classmethod
    def _clean(cls, value: object) -> object:
        # NUL and control characters never belong in a name, whatever the source.
        return clean_text(value) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _prize_needs_final(self) -> PerformerResult:
        if self.prize is not None:
            parse_prize(self.prize)
            if self.furthest_round is not Round.FINAL:
                raise ValueError(
                    f"{self.name}: prize {self.prize!r} but furthest round {self.furthest_round}"
                )
        return self

    @computed_field  # type: ignore[prop-decorator]
    @property
    def placement(self) -> Placement:
        return placement_for(self.furthest_round, self.prize)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ordinal(self) -> int:
        return self.placement.ordinal

    @computed_field  # type: ignore[prop-decorator]
    @property
    def laureate(self) -> bool:
        return self.prize is not None

    @property
    def key(self) -> str:
        return name_key(self.name)

    @classmethod
    def from_facts(cls, name: str, facts: BaseModel) -> PerformerResult:
        """One performer from a record holding the published facts under the same field names
        (an entry of the curated file, a line of results.jsonl)."""
        published = set(cls.model_fields) - {"name"}
        return cls.model_validate({"name": name, **facts.model_dump(include=published)})

    def all_names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


class CompetitionResults(BaseModel):
    """Every performer known from one source, one entry each."""

    model_config = ConfigDict(frozen=True)

    source: str
    performers: tuple[PerformerResult, ...]

    @model_validator(mode="after")
    def _unique(self) -> CompetitionResults:
        seen: dict[str, str] = {}
        for performer in self.performers:
            if performer.key in seen:
                raise ValueError(
                    f"{self.source}: {performer.name!r} listed twice "
                    f"(also as {seen[performer.key]!r})"
                )
            seen[performer.key] = performer.name
        return self

    def by_key(self) -> dict[str, PerformerResult]:
        """Every name and alias key -> performer."""
        index: dict[str, PerformerResult] = {}
        for performer in self.performers:
            for name in performer.all_names():
                index[name_key(name)] = performer
        return index

    def find(self, name: str) -> PerformerResult | None:
        return self.by_key().get(name_key(name))

    def prize_list(self) -> list[tuple[str, str]]:
        """(prize as announced, performer), best first, ties by name."""
        laureates = [p for p in self.performers if p.prize is not None]
        laureates.sort(key=lambda p: (-p.ordinal, p.name))
        return [(p.prize or "", p.name) for p in laureates]

    def counts_by_round(self) -> dict[Round, int]:
        """Performers who reached at least each round."""
        return {
            round_: sum(1 for p in self.performers if p.furthest_round.order >= round_.order)
            for round_ in ROUND_ORDER
        }


# -- the curated file --------------------------------------------------------------------------


class CuratedSource(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str
    publisher: str
    date: str | None = None
    says: str
    known_from: list[str] = Field(
        default_factory=list,
        description="Sources that give this page's address or text (a page not fetched here).",
    )


class CuratedPerformer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    country: str
    furthest_round: Round
    prize: str | None = None
    special_prizes: list[str] = Field(default_factory=list)
    repertoire: dict[Round, list[str]] = Field(default_factory=dict)
    aliases: list[str] = Field(default_factory=list)
    note: str | None = None
    citations: dict[str, list[str]]
    unverified: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _every_fact_cited(self) -> CuratedPerformer:
        facts = ["name", "country", "furthest_round"]
        facts += ["prize"] if self.prize else []
        facts += ["special_prizes"] if self.special_prizes else []
        facts += ["repertoire"] if self.repertoire else []
        facts += ["aliases"] if self.aliases else []
        missing = [fact for fact in facts if not self.citations.get(fact)]
        if missing:
            raise ValueError(f"{self.name}: no citation for {', '.join(missing)}")
        return self


class CuratedFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    competition: str
    year: int
    official_site: str
    ordinal_encoding: dict[str, int]
    notes: list[str]
    sources: dict[str, CuratedSource]
    stage_counts: dict[Round, dict[str, Any]]
    performers: list[CuratedPerformer]

    @model_validator(mode="after")
    def _citations_resolve(self) -> CuratedFile:
        for source_id, source in self.sources.items():
            unknown = [other for other in source.known_from if other not in self.sources]
            if unknown:
                raise ValueError(f"source {source_id}: known_from names unknown {unknown}")
        for performer in self.performers:
            for fact, ids in performer.citations.items():
                unknown = [source for source in ids if source not in self.sources]
                if unknown:
                    raise ValueError(f"{performer.name}: {fact} cites unknown {unknown}")
        encoding = {Placement(k): v for k, v in self.ordinal_encoding.items()}
        if encoding != PLACEMENT_ORDINAL:
            raise ValueError("ordinal_encoding in the curated file differs from the code's")
        return self

    def results(self) -> CompetitionResults:
        return CompetitionResults(
            source="curated",
            performers=tuple(PerformerResult.from_facts(p.name, p) for p in self.performers),
        )

    def citations_for(self, name: str) -> list[str]:
        """The URLs backing one performer's facts."""
        for performer in self.performers:
            if name_key(performer.name) == name_key(name):
                ids = dict.fromkeys(i for ids in performer.citations.values() for i in ids)
                return [self.sources[i].url for i in ids]
        return []


def load_curated(text: str | None = None) -> CuratedFile:
    """The curated 2021 results shipped with the package (or `text`, for tests)."""
    if text is None:
        text = (
            resources.files("piano_assets.chopin2021")
            .joinpath(CURATED_RESOURCE)
            .read_text(encoding="utf-8")
        )
    try:
        return CuratedFile.model_validate(json.loads(text))
    except ValueError as err:
        raise ResultsError(f"curated results file {CURATED_RESOURCE}: {err}") from err


# -- parsing the official site -----------------------------------------------------------------

_HONORIFIC = r"(?:(?:Mr|Ms|Mrs|Miss|Mx)\.?\s+)"
# "12. Mr Bruce (Xiaoyu) Liu, Canada" or "Ms Aimi Kobayashi, Japan": a number or a title first,
# so ordinary sentences with a comma are not taken for entries.
_LISTED = re.compile(
    rf"^\s*(?:\d+\s*[.)]\s*{_HONORIFIC}?|{_HONORIFIC})"
    r"(?P<name>[^,\d][^,]*?)\s*,\s*(?P<country>\S.*?)\s*$"
)
_PRIZE_LINE = re.compile(
    r"^\s*(?P<prize>[1-6]\s*(?:st|nd|rd|th)\s+Prize(?:\s+ex\s+aequo)?)\s*[–—-]+\s*"
    rf"{_HONORIFIC}?(?P<name>[^,]+?)\s*,\s*(?P<country>\S.*?)\s*$",
    re.IGNORECASE,
)
# A special prize: "<text naming a prize or award> – <name>, <country>". The line is split at
# its first dash run and each side matched on its own: one lazy pattern across the dash
# retried every "prize" word as a start, quadratic on a long line without a dash.
_SPECIAL_DASH = re.compile(r"[–—]+")
_SPECIAL_PRIZE_WORD = re.compile(r"\b(?:prize|award)\b", re.IGNORECASE)
_SPECIAL_WINNER = re.compile(
    rf"^\s*{_HONORIFIC}?(?P<name>[^,]+?)\s*,\s*(?P<country>\S.*?)\s*$", re.IGNORECASE
)
_MAX_NAME_WORDS = 8
_LINE_BREAK = re.compile(r"\r\n|[\r\n]")
_COMPETITOR_LINK = re.compile(r"/competitors?/[^/?#]+")
_RESULTS_LINK = re.compile(
    r"qualif|results?\b|wyniki|finalist|laureat|prize|winner|stage\s+(?:iii|ii|i)\b", re.I
)
_QUALIFIED = re.compile(
    r"qualified\s+(?:to|for)\s+(?:the\s+)?(?P<round>stage\s+(?:iii|ii|i)\b|final)", re.IGNORECASE
)


class ListedPerformer(BaseModel):
    name: str
    country: str


class PrizeAward(BaseModel):
    prize: str
    name: str
    country: str


class Announcement(BaseModel):
    """One official announcement: who qualified to a round, or who won which prize."""

    url: str
    kind: str  # "qualified" | "prizes"
    round: Round | None = None
    listed: list[ListedPerformer] = Field(default_factory=list)
    prizes: list[PrizeAward] = Field(default_factory=list)
    special_prizes: list[PrizeAward] = Field(default_factory=list)


class CompetitorPage(BaseModel):
    url: str
    name: str
    country: str | None
    repertoire: dict[Round, list[str]] = Field(default_factory=dict)


def _soup(html: str) -> BeautifulSoup:
    return BeautifulSoup(html, "html.parser")


def _content_lines(soup: BeautifulSoup) -> list[str]:
    """Text lines of the page body: list items and paragraphs, one line per <br>."""
    root = soup.find("main") or soup.find("article") or soup.body or soup
    for br in root.find_all("br"):
        br.replace_with("\n")
    # An ordered list numbers its items itself: "1. Name, Country" as on the page. Numbered
    # once per list (looking each item up in its list made long lists quadratic).
    numbers: dict[int, int] = {}
    for ordered in root.find_all("ol"):
        for number, item in enumerate(ordered.find_all("li", recursive=False), start=1):
            numbers[id(item)] = number
    lines: list[str] = []
    for element in root.find_all(["li", "p", "td", "h1", "h2", "h3", "h4", "div"]):
        if element.find(["li", "p", "td", "div"]):
            continue  # only leaves, so no line is counted twice
        list_number = numbers.get(id(element)) if element.name == "li" else None
        prefix = f"{list_number}. " if list_number is not None else ""
        # Only real line breaks (<br>, newlines) split: splitlines() also broke at NEL and
        # the other separators a hostile page can hide inside a name.
        for raw_line in _LINE_BREAK.split(prefix + element.get_text()):
            line = clean_text(raw_line)
            if line:
                lines.append(line)
    return lines


def parse_announcement(html: str, url: str) -> Announcement:
    """An announcement page: the list of qualifiers to a round, or the prize list."""
    soup = _soup(html)
    lines = _content_lines(soup)
    if not lines:
        raise ResultsParseError(url, "no text content (empty or unparseable page)")
    prize_lines = {index: m for index, line in enumerate(lines) if (m := _PRIZE_LINE.match(line))}
    if prize_lines:
        special = [
            award
            for index, line in enumerate(lines)
            if index not in prize_lines and (award := _special_award(line)) is not None
        ]
        return Announcement(
            url=url,
            kind="prizes",
            round=Round.FINAL,
            prizes=[_award(m) for m in prize_lines.values()],
            special_prizes=special,
        )
    text = " ".join(lines)
    qualified = _QUALIFIED.search(text)
    if qualified is None:
        raise ResultsParseError(
            url, "neither a prize list nor a 'qualified to Stage …/the final' announcement"
        )
    round_ = parse_round(qualified["round"])
    if round_ is None:  # pragma: no cover - the regex only admits known rounds
        raise ResultsParseError(url, f"unknown round {qualified['round']!r}")
    listed = [
        ListedPerformer(name=m["name"], country=m["country"])
        for line in lines
        if (m := _LISTED.match(line)) and len(m["name"].split()) <= _MAX_NAME_WORDS
    ]
    if not listed:
        raise ResultsParseError(
            url, f"announces qualifiers to {round_.label} but lists none as 'Mr/Ms Name, Country'"
        )
    return Announcement(url=url, kind="qualified", round=round_, listed=listed)


def _special_award(line: str) -> PrizeAward | None:
    """'Polish Radio Prize for … – Mr Jakub Kuszlik, Poland', else None."""
    dash = _SPECIAL_DASH.search(line)
    if dash is None:
        return None
    prize = line[: dash.start()].strip()
    winner = _SPECIAL_WINNER.match(line[dash.end() :])
    if not prize or not _SPECIAL_PRIZE_WORD.search(prize) or winner is None:
        return None
    return PrizeAward(
        prize=" ".join(prize.split()),
        name=strip_honorific(winner["name"]),
        country=winner["country"],
    )


def _award(match: re.Match[str]) -> PrizeAward:
    prize = " ".join(match["prize"].split())
    if _PRIZE_TEXT.match(prize):  # normalize '2nd prize Ex Aequo' spacing/case only
        rank, shared = parse_prize(prize)
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(rank, "th")
        prize = f"{rank}{suffix} Prize" + (" ex aequo" if shared else "")
    return PrizeAward(prize=prize, name=strip_honorific(match["name"]), country=match["country"])


def parse_competitor_index(html: str, url: str) -> list[str]:
    """Absolute URLs of the competitor pages linked from the competitors index."""
    soup = _soup(html)
    links: dict[str, None] = {}  # ordered, and a set: repeated links cost nothing
    for anchor in soup.find_all("a", href=True):
        absolute = urljoin(url, str(anchor["href"]))
        if absolute not in links and _COMPETITOR_LINK.search(absolute):
            links[absolute] = None
    if not links:
        raise ResultsParseError(url, "competitors index links to no competitor page")
    return list(links)


def parse_competitor_page(html: str, url: str) -> CompetitorPage:
    """A competitor's page: name, country and, where the page has it, repertoire per round."""
    soup = _soup(html)
    heading = soup.find("h1")
    if heading is None or not heading.get_text(strip=True):
        raise ResultsParseError(url, "competitor page has no <h1> with the competitor's name")
    name = strip_honorific(clean_text(heading.get_text()))
    country_tag = soup.find(class_=re.compile("country"))
    country = clean_text(country_tag.get_text()) if country_tag else None
    repertoire: dict[Round, list[str]] = {}
    for section in soup.find_all(["h2", "h3", "h4"]):
        round_ = parse_round(section.get_text())
        if round_ is None:
            continue
        pieces = _items_after(section)
        if pieces:
            repertoire[round_] = pieces
    return CompetitorPage(url=url, name=name, country=country or None, repertoire=repertoire)


def _items_after(heading: Tag) -> list[str]:
    """List items between a heading and the next heading."""
    items: list[str] = []
    # next_siblings is lazy: find_next_siblings() listed every later sibling for each heading.
    for sibling in heading.next_siblings:
        if not isinstance(sibling, Tag):
            continue
        if sibling.name in {"h1", "h2", "h3", "h4"}:
            break
        for item in sibling.find_all("li") if sibling.name != "li" else [sibling]:
            text = clean_text(item.get_text())
            if text:
                items.append(text)
    return items


def parse_news_index(html: str, url: str) -> list[str]:
    """Absolute URLs of the news articles that announce results (qualifiers, finalists, prizes)."""
    soup = _soup(html)
    links: dict[str, None] = {}  # ordered, and a set
    for anchor in soup.find_all("a", href=True):
        absolute = urljoin(url, str(anchor["href"]))
        if absolute in links or "/article/" not in absolute:
            continue
        label = clean_text(anchor.get_text())
        if _RESULTS_LINK.search(label) or _RESULTS_LINK.search(absolute):
            links[absolute] = None
    return list(links)


class FetchedText(Protocol):
    """A fetched page (`sources.web.FetchedPage`); read-only, as that frozen dataclass is."""

    @property
    def url(self) -> str: ...
    @property
    def text(self) -> str: ...


class SitePaths(BaseModel):
    """Where the site keeps its news listing and competitors index (relative to the base URL)."""

    news: tuple[str, ...] = ("en/news",)
    competitors: str = "en/competitors"


class RefusedLink(BaseModel):
    """A ledger line: a link the crawl did not follow, the page that carried it, and why."""

    url: str
    found_on: str
    reason: str


class SiteResults(BaseModel):
    """What the official site says, assembled from its pages."""

    results: CompetitionResults
    pages: list[str]
    announcements: list[Announcement]
    competitor_pages: list[CompetitorPage]
    refused: list[RefusedLink] = Field(default_factory=list)

    def citations(self) -> dict[str, list[str]]:
        """name key -> the site's pages that state something about the performer."""
        cited: dict[str, list[str]] = {}
        for page in self.competitor_pages:
            cited.setdefault(name_key(page.name), []).append(page.url)
        for announcement in self.announcements:
            names = [p.name for p in announcement.listed]
            names += [a.name for a in (*announcement.prizes, *announcement.special_prizes)]
            for name in names:
                urls = cited.setdefault(name_key(name), [])
                if announcement.url not in urls:
                    urls.append(announcement.url)
        return cited


def collect_site_results(
    base_url: str,
    fetch: Callable[[str], FetchedText],
    paths: SitePaths | None = None,
) -> SiteResults:
    """Crawl the official site from its news listing and competitors index; parse every page.

    Every competitor of the main competition played stage I; announcements move performers to
    later rounds; the prize list sets prizes. Raises ResultsParseError naming the page at fault.

    The crawl keeps to the scheme and host of `base_url` (a `file://` base: to its folder).
    A link outside is not followed; it becomes a `RefusedLink` ledger line, as does a page
    whose fetch refuses a redirect out of scope (`OutOfScopeError`, from a `PageFetcher` given
    the same `CrawlScope`).
    """
    paths = paths or SitePaths()
    base = base_url if base_url.endswith("/") else base_url + "/"
    scope = CrawlScope.of(base)
    pages: list[str] = []
    refused: list[RefusedLink] = []

    def get(url: str) -> str:
        scope.require(url)
        page = fetch(url)
        pages.append(url)
        return page.text

    def follow(links: list[str], found_on: str) -> list[tuple[str, str]]:
        """(link, text) of each link in scope; the others go to the ledger."""
        followed: list[tuple[str, str]] = []
        for link in links:
            try:
                followed.append((link, get(link)))
            except OutOfScopeError as err:
                refused.append(RefusedLink(url=link, found_on=found_on, reason=err.reason))
        return followed

    competitors_url = urljoin(base, paths.competitors)
    competitor_links = parse_competitor_index(get(competitors_url), competitors_url)
    competitor_pages = [
        parse_competitor_page(text, link)
        for link, text in follow(competitor_links, competitors_url)
    ]
    announcements: list[Announcement] = []
    for news_path in paths.news:
        news_url = urljoin(base, news_path)
        for link, text in follow(parse_news_index(get(news_url), news_url), news_url):
            announcements.append(parse_announcement(text, link))
    if not any(a.kind == "prizes" for a in announcements):
        raise ResultsParseError(base, "no page with the prize list was found in the news")
    return SiteResults(
        results=assemble_results("site", competitor_pages, announcements),
        pages=pages,
        announcements=announcements,
        competitor_pages=competitor_pages,
        refused=refused,
    )


def assemble_results(
    source: str, competitors: list[CompetitorPage], announcements: list[Announcement]
) -> CompetitionResults:
    """Combine competitor pages (stage I) and announcements (later rounds, prizes)."""
    entries: dict[str, dict[str, Any]] = {}

    def entry(name: str, country: str | None) -> dict[str, Any]:
        key = name_key(name)
        if key not in entries:
            entries[key] = {
                "name": name,
                "country": country,
                "furthest_round": Round.STAGE_I,
                "prize": None,
                "special_prizes": [],
                "repertoire": {},
            }
        elif country and not entries[key]["country"]:
            entries[key]["country"] = country
        return entries[key]

    for page in competitors:
        entry(page.name, page.country)["repertoire"] = dict(page.repertoire)
    for announcement in announcements:
        reached = announcement.round or Round.STAGE_I
        for listed in announcement.listed:
            found = entry(listed.name, listed.country)
            if reached.order > found["furthest_round"].order:
                found["furthest_round"] = reached
        for award in announcement.prizes:
            found = entry(award.name, award.country)
            found["furthest_round"] = Round.FINAL
            if found["prize"] not in (None, award.prize):
                raise ResultsError(
                    f"{announcement.url}: {award.name} has two prizes "
                    f"({found['prize']!r} and {award.prize!r})"
                )
            found["prize"] = award.prize
        for award in announcement.special_prizes:
            found = entry(award.name, award.country)
            if award.prize not in found["special_prizes"]:
                found["special_prizes"].append(award.prize)
    missing_country = [e["name"] for e in entries.values() if not e["country"]]
    if missing_country:
        raise ResultsError(f"{source}: no country for {', '.join(sorted(missing_country))}")
    performers = tuple(
        PerformerResult(
            name=e["name"],
            country=e["country"],
            furthest_round=e["furthest_round"],
            prize=e["prize"],
            special_prizes=tuple(e["special_prizes"]),
            repertoire={r: tuple(p) for r, p in e["repertoire"].items()},
        )
        for e in entries.values()
    )
    return CompetitionResults(source=source, performers=performers)


# -- cross-check and resolution ----------------------------------------------------------------


class Disagreement(BaseModel):
    performer: str
    field: str
    site: str | None
    curated: str | None


class CrossCheck(BaseModel):
    """How the site and the curated file compare. Disagreements are facts both state differently."""

    disagreements: list[Disagreement]
    only_on_site: list[str]
    only_curated: list[str]
    compared: int

    @property
    def agrees(self) -> bool:
        return not self.disagreements


def _country_key(country: str) -> str:
    return " ".join(sorted(re.findall(r"[a-z]+", fold(country))))


def _compared_fields(site: PerformerResult, curated: PerformerResult) -> list[Disagreement]:
    def joined(prizes: tuple[str, ...]) -> str | None:
        return "; ".join(sorted(prizes)) or None

    pairs: list[tuple[str, str | None, str | None]] = [
        ("furthest_round", site.furthest_round.value, curated.furthest_round.value),
        ("prize", site.prize, curated.prize),
        ("special_prizes", joined(site.special_prizes), joined(curated.special_prizes)),
    ]
    if _country_key(site.country) != _country_key(curated.country):
        pairs.append(("country", site.country, curated.country))
    return [
        Disagreement(performer=curated.name, field=field, site=ours, curated=theirs)
        for field, ours, theirs in pairs
        if ours != theirs
    ]


def cross_check(site: CompetitionResults, curated: CompetitionResults) -> CrossCheck:
    curated_index = curated.by_key()
    disagreements: list[Disagreement] = []
    matched: set[str] = set()
    only_on_site: list[str] = []
    for performer in site.performers:
        other = curated_index.get(performer.key)
        if other is None:
            only_on_site.append(performer.name)
            continue
        matched.add(other.key)
        disagreements.extend(_compared_fields(performer, other))
    only_curated = [p.name for p in curated.performers if p.key not in matched]
    return CrossCheck(
        disagreements=disagreements,
        only_on_site=sorted(only_on_site),
        only_curated=sorted(only_curated),
        compared=len(matched),
    )


def resolve_results(
    site: CompetitionResults | None, curated: CompetitionResults
) -> tuple[CompetitionResults, dict[str, str]]:
    """One result per performer: the official site's where it has the performer, else curated.

    Returns the results and, per performer name, where the row came from ('site', 'curated').
    The curated file adds aliases, notes and repertoire the site lacks.
    """
    if site is None:
        return curated, {p.name: "curated" for p in curated.performers}
    curated_index = curated.by_key()
    rows: list[PerformerResult] = []
    origin: dict[str, str] = {}
    seen: set[str] = set()
    for from_site in site.performers:
        row = from_site
        other = curated_index.get(from_site.key)
        if other is not None:
            seen.add(other.key)
            aliases = tuple(n for n in dict.fromkeys(other.all_names()) if n != from_site.name)
            row = from_site.model_copy(
                update={
                    "aliases": aliases,
                    "repertoire": dict(other.repertoire) | dict(from_site.repertoire),
                    "note": other.note,
                }
            )
        rows.append(row)
        origin[row.name] = "site"
    for performer in curated.performers:
        if performer.key not in seen:
            rows.append(performer)
            origin[performer.name] = "curated"
    return CompetitionResults(source="resolved", performers=tuple(rows)), origin


def results_summary(results: CompetitionResults) -> Mapping[str, int]:
    counts = results.counts_by_round()
    return {
        "performers": len(results.performers),
        "laureates": sum(1 for p in results.performers if p.laureate),
        **{f"reached_{round_.value}": count for round_, count in counts.items()},
    }
