"""Stage I pianists the results lack, derived from the official channel. Dagster-free.

The published lists name every pianist from stage II on (45, 23 and 12), but the stored
copies of the full list of the 87 stage I pianists are truncated, so the results lack some
of the 42 eliminated in stage I. The official channel has one video per stage I performance,
titled with the pianist's name ("JAEYOON LEE – first round (18th Chopin Competition,
Warsaw)"). A name in a stage I video of this edition that is not among the performers the
results know, while the stage II list is complete, is a pianist eliminated in stage I: a row
marked `derived`, citing its videos.

Never a guess: nothing is derived unless the stage II list is complete; a name that may be
a known performer spelled another way (the same letters: "JAE-YOON LEE" / "Jaeyoon Lee"), a
title whose name cannot be told apart, a video of a later round naming an unknown pianist,
or more stage I pianists than the official count: each goes to `unresolved` with the reason.
The country is not in a video's title: derived rows say `unknown`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from piano_assets.chopin2021.matching import (
    NO_PERFORMER_REASON,
    MatchStatus,
    Roster,
    edition_named,
    match_title,
    name_candidates,
)
from piano_assets.chopin2021.names import name_key, name_tokens
from piano_assets.chopin2021.paths import Chopin2021Paths
from piano_assets.chopin2021.records import ResultRecord
from piano_assets.chopin2021.results import (
    CompetitionResults,
    PerformerResult,
    Round,
    find_rounds,
    load_curated,
)
from piano_assets.lib.jsonl import read_jsonl
from piano_assets.sources.ytdlp import ListingLike

DERIVED_SOURCE = "derived"
UNKNOWN_COUNTRY = "unknown"
# Stage I of the 2021 edition ran 3–7 October 2021; the channel published its videos then.
_STAGE_I_UPLOADS = ("20211003", "20211031")


class UnresolvedTitle(BaseModel):
    """A video that may show a pianist the results lack, but that derives nobody, and why."""

    model_config = ConfigDict(frozen=True)

    video_id: str
    title: str
    url: str
    reason: str


@dataclass
class _Evidence:
    name: str
    name_in_titles: list[str] = field(default_factory=list)
    videos: list[ListingLike] = field(default_factory=list)


class Derivation(BaseModel):
    """The stage I pianists derived from the channel, and the videos left unresolved."""

    performers: list[PerformerResult]
    citations: dict[str, list[str]]  # performer name -> the video URLs that show them
    unresolved: list[UnresolvedTitle]
    stage_ii_listed: int
    stage_ii_expected: int | None
    stage_i_expected: int | None

    def records(self) -> list[ResultRecord]:
        """The derived rows as they go to results.jsonl (source 'derived', citing videos)."""
        return [
            ResultRecord.from_result(
                performer, source=DERIVED_SOURCE, citations=self.citations[performer.name]
            )
            for performer in self.performers
        ]

    def results_with(self, results: CompetitionResults) -> CompetitionResults:
        """`results` and the derived performers together (for matching the channel)."""
        return CompetitionResults(
            source=results.source, performers=(*results.performers, *self.performers)
        )


def display_name(written: str) -> str:
    """The name as a person writes it, from a title's: all capitals become 'Title Case';
    'KUSZLIK Jakub' (the family name in capitals, as the channel writes some titles) becomes
    'Jakub Kuszlik'. Other spellings are kept as written."""
    words = written.split()
    capitals = [word for word in words if word.isupper()]
    if len(capitals) == len(words):
        return " ".join(word.title() for word in words)
    if capitals:
        given = [word for word in words if not word.isupper()]
        return " ".join([*given, *(word.title() for word in capitals)])
    return " ".join(words)


def _letters(name: str) -> str:
    """The letters of a name in order-free form: spellings that differ only in spaces,
    hyphens, word order or diacritics share it."""
    return "".join(sorted("".join(name_tokens(name))))


def _of_this_edition(item: ListingLike) -> bool:
    named = edition_named(item.title)
    if named is None and item.playlist:
        named = edition_named(item.playlist)
    if named is not None:
        return named
    date = item.upload_date or ""
    return _STAGE_I_UPLOADS[0] <= date <= _STAGE_I_UPLOADS[1]


def derive_stage_i_pianists(
    listing: Iterable[ListingLike],
    results: CompetitionResults,
    *,
    stage_ii_expected: int | None,
    stage_i_expected: int | None,
) -> Derivation:
    """Derive the stage I pianists `results` lack from the channel's `listing` (see the
    module docstring). `stage_ii_expected`: how many qualified to stage II (45 in 2021);
    `stage_i_expected`: how many played stage I (87)."""
    roster = Roster(results)
    known_letters = {
        _letters(name): performer.name
        for performer in results.performers
        for name in performer.all_names()
    }
    found: dict[str, _Evidence] = {}
    unresolved: list[UnresolvedTitle] = []

    def refuse(item: ListingLike, reason: str) -> None:
        unresolved.append(
            UnresolvedTitle(video_id=item.video_id, title=item.title, url=item.url, reason=reason)
        )

    seen_videos: set[str] = set()
    for item in listing:
        if item.video_id in seen_videos:
            continue
        seen_videos.add(item.video_id)
        match = match_title(item.title, roster, playlist=item.playlist)
        if match.status is not MatchStatus.UNMATCHED or match.reason != NO_PERFORMER_REASON:
            continue  # a known performer, a session, another edition, not a performance
        if not _of_this_edition(item):
            continue
        rounds = find_rounds(item.title) or (find_rounds(item.playlist) if item.playlist else [])
        names = name_candidates(item.title)
        if rounds != [Round.STAGE_I]:
            if rounds and len(names) == 1:
                refuse(
                    item,
                    f"names {names[0]!r}, who is not in the results, in "
                    f"{', '.join(r.label for r in rounds)}: only stage I can be derived "
                    "(the later rounds' lists are complete); check the title",
                )
            continue
        if len(names) != 1:
            refuse(
                item,
                "a stage I video naming no known performer, but no single name can be told "
                f"apart in its title (candidates: {names or 'none'})",
            )
            continue
        written = names[0]
        name = display_name(written)
        letters = _letters(name)
        if letters in known_letters:
            refuse(
                item,
                f"{written!r} has the letters of {known_letters[letters]!r} of the results: "
                "the same pianist spelled another way? Add the spelling as an alias",
            )
            continue
        evidence = found.setdefault(letters, _Evidence(name=name))
        evidence.name_in_titles.append(written)
        evidence.videos.append(item)

    stage_ii_listed = results.counts_by_round()[Round.STAGE_II]
    problem = _completeness_problem(results, len(found), stage_ii_expected, stage_i_expected)
    if problem is not None:
        for evidence in found.values():
            for item in evidence.videos:
                refuse(item, f"{evidence.name}: not derived: {problem}")
        found = {}
    performers: list[PerformerResult] = []
    citations: dict[str, list[str]] = {}
    for evidence in sorted(found.values(), key=lambda e: name_key(e.name)):
        titles = "; ".join(dict.fromkeys(v.title for v in evidence.videos))
        performers.append(
            PerformerResult(
                name=evidence.name,
                country=UNKNOWN_COUNTRY,
                furthest_round=Round.STAGE_I,
                note=(
                    f"Derived from the official channel: stage I video(s) titled with this name "
                    f"({titles}). Not among the {stage_ii_listed} qualifiers to stage II (a "
                    "complete list), so eliminated in stage I. The name is as written in the "
                    "title; the country is not stated there."
                ),
            )
        )
        citations[evidence.name] = list(dict.fromkeys(v.url for v in evidence.videos))
    return Derivation(
        performers=performers,
        citations=citations,
        unresolved=unresolved,
        stage_ii_listed=stage_ii_listed,
        stage_ii_expected=stage_ii_expected,
        stage_i_expected=stage_i_expected,
    )


def _completeness_problem(
    results: CompetitionResults,
    derived: int,
    stage_ii_expected: int | None,
    stage_i_expected: int | None,
) -> str | None:
    counts = results.counts_by_round()
    if stage_ii_expected is None or counts[Round.STAGE_II] != stage_ii_expected:
        expected = stage_ii_expected if stage_ii_expected is not None else "an unknown number"
        return (
            f"the stage II list is not complete ({counts[Round.STAGE_II]} of {expected} "
            "qualifiers in the results), so a pianist missing from it may have qualified"
        )
    if stage_i_expected is not None and counts[Round.STAGE_I] + derived > stage_i_expected:
        return (
            f"{counts[Round.STAGE_I]} known and {derived} derived would exceed the "
            f"{stage_i_expected} pianists of stage I: some titles must name the same pianist"
        )
    return None


# -- on disk ----------------------------------------------------------------------------------


def derived_results_path(paths: Chopin2021Paths) -> Path:
    """Where `chopin2021_video_catalog` keeps the derived rows (state, beside the catalog)."""
    return paths.state / "results_derived.jsonl"


def published_results(paths: Chopin2021Paths) -> list[ResultRecord]:
    """What results.jsonl publishes: the resolved results (site, curated), then the derived
    rows of performers the resolved results do not know (the site may list them later)."""
    resolved = read_jsonl(paths.resolved_results, ResultRecord)
    derived_path = derived_results_path(paths)
    if not derived_path.exists():
        return resolved
    known = {name_key(n) for row in resolved for n in (row.performer, *row.aliases)}
    derived = [
        row
        for row in read_jsonl(derived_path, ResultRecord)
        if name_key(row.performer) not in known
    ]
    return [*resolved, *derived]


def derive_with_official_counts(
    listing: Iterable[ListingLike], results: CompetitionResults
) -> Derivation:
    """`derive_stage_i_pianists` with the stage counts of the curated, cited file (87, 45)."""
    counts = load_curated().stage_counts
    return derive_stage_i_pianists(
        listing,
        results,
        stage_ii_expected=counts.get(Round.STAGE_II, {}).get("count"),
        stage_i_expected=counts.get(Round.STAGE_I, {}).get("count"),
    )
