"""Work identity of MAESTRO titles: composer + catalogue number, with a scope. Dagster-free.

MAESTRO's `canonical_title` is free text with real errors (movement files numbered as
consecutive catalogue numbers, WTC titles without BWV, abbreviations, typos, wrong composers).
Grouping by title text alone splits one work into several groups and joins nothing that is
wrong in a way the text can show. Here every distinct (canonical_composer, canonical_title)
gets:

* **work_id** — `<author>:<catalogue>`: `chopin:op52`, `schubert:d958`, `bach:bwv885`,
  `chopin:op10no4` (one number of a set is a work of its own), `bach-busoni:bwv1004` (an
  arrangement: original composer, arranger), `liszt:s434` (a work in the arranger's own
  catalogue). Works without a catalogue number get a name: `mussorgsky:pictures-at-an-exhibition`.
* **families** — what a negative pair must never join: the work's catalogue root
  (`chopin:op10` for `chopin:op10no4`, the base composer's for an arrangement) plus any
  related work an override names (versions, the set a piece belongs to).
* **scope** — `complete`, `movements:1,2`, `numbers:1-5`, or `excerpt` (a part whose extent
  the title does not tell). Only equal, known scopes make positives.
* **resolution** — `rule`, `override` (a reviewed entry of `work_overrides.yaml`, with its
  reason and citation) or `unresolved` (listed, never guessed; candidates, when known, still
  guard negatives).

Rules first (`read_title`), then the overrides file for what the rules cannot resolve.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import cache
from importlib import resources
from typing import Literal

import polars as pl
import yaml
from pydantic import BaseModel, ConfigDict, field_validator, model_validator

Resolution = Literal["rule", "override", "unresolved"]
RULE: Resolution = "rule"
OVERRIDE: Resolution = "override"
UNRESOLVED: Resolution = "unresolved"

COMPLETE = "complete"
EXCERPT = "excerpt"
UNKNOWN_SCOPE = "unknown"
OVERRIDES_RESOURCE = "work_overrides.yaml"

WORK_RULE = (
    "work = composer (corrected where MAESTRO is wrong) + catalogue number (Op./No., BWV incl. "
    "WTC book + key, D, K, Hob., S., L., WoO, HWV, Z, M); one number of a set is its own work "
    "(chopin:op10no4), its family is the set (chopin:op10); arrangements are "
    "'<composer>-<arranger>:<catalogue>' unless catalogued by the arranger (liszt:s434). "
    "Scope = complete | movements:N | numbers:N | excerpt, from the title, then joined over a "
    "performance's files. Rules first, then the reviewed overrides in "
    "piano_assets/maestro/work_overrides.yaml; what neither resolves stays unresolved."
)

_ROMAN = {
    "i": 1,
    "ii": 2,
    "iii": 3,
    "iv": 4,
    "v": 5,
    "vi": 6,
    "vii": 7,
    "viii": 8,
    "ix": 9,
    "x": 10,
    "xi": 11,
    "xii": 12,
}
_ORDINALS = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "1st": 1,
    "2nd": 2,
    "3rd": 3,
    "4th": 4,
    "5th": 5,
}
_NUMBER_LIST = r"\d+\b(?:\s*(?:-|–|,|&|and)\s*(?:nos?\.?\s*)?\d+\b)*"
_OPUS = re.compile(r"\bop(?:us)?\.?\s*(\d+)([a-z])?\b")
_NUMBERS_AFTER = re.compile(r"\s*,?\s*(?:(?:nos?|#)\.?\s*|/\s*)(" + _NUMBER_LIST + ")")
_CATALOGUES: dict[str, re.Pattern[str]] = {
    "bwv": re.compile(r"\bbwv\.?\s*(\d+)\b"),
    "d": re.compile(r"\bd\.?\s*(\d{2,3})\b"),
    "k": re.compile(r"\bk[v]?\.?\s*(\d+)\b"),
    "s": re.compile(r"\bs\.?\s*(\d+)\b"),
    "l": re.compile(r"\bl\.?\s*(\d+)\b"),
    "woo": re.compile(r"\bwoo\.?\s*(\d+)\b"),
    "hwv": re.compile(r"\bhwv\.?\s*(\d+)\b"),
    "z": re.compile(r"\bz\.?\s*(\d+)\b"),
    "m": re.compile(r"\bm\.?\s*(\d+)\b"),
}
_HOBOKEN = re.compile(r"\bhob\.?\s*(x{0,2}v?i{0,3})\s*[:/]?\s*(\d+)\b")
# Which catalogue names a composer's works (the first found wins; opus is the fallback).
_COMPOSER_CATALOGUES: dict[str, tuple[str, ...]] = {
    "bach": ("bwv",),
    "schubert": ("d",),
    "mozart": ("k",),
    "scarlatti": ("k",),
    "haydn": ("hob",),
    "liszt": ("s",),
    "debussy": ("l",),
    "beethoven": ("woo",),
    "handel": ("hwv",),
    "purcell": ("z",),
    "franck": ("m",),
}
# Deutsch numbers of Schubert's opus numbers met in MAESTRO (Deutsch catalogue).
SCHUBERT_OPUS_TO_D = {
    15: 760,
    42: 845,
    53: 850,
    78: 894,
    90: 899,
    94: 780,
    120: 664,
    142: 935,
    143: 784,
    164: 537,
}
# "Sonata No. N" → catalogue, for composers whose sonatas are numbered (published catalogues).
SONATA_NUMBERS: dict[str, dict[int, str]] = {
    "beethoven": {
        1: "op2no1",
        2: "op2no2",
        3: "op2no3",
        4: "op7",
        5: "op10no1",
        6: "op10no2",
        7: "op10no3",
        8: "op13",
        9: "op14no1",
        10: "op14no2",
        11: "op22",
        12: "op26",
        13: "op27no1",
        14: "op27no2",
        15: "op28",
        16: "op31no1",
        17: "op31no2",
        18: "op31no3",
        19: "op49no1",
        20: "op49no2",
        21: "op53",
        22: "op54",
        23: "op57",
        24: "op78",
        25: "op79",
        26: "op81a",
        27: "op90",
        28: "op101",
        29: "op106",
        30: "op109",
        31: "op110",
        32: "op111",
    },
    "chopin": {1: "op4", 2: "op35", 3: "op58"},
    "scriabin": {
        1: "op6",
        2: "op19",
        3: "op23",
        4: "op30",
        5: "op53",
        6: "op62",
        7: "op64",
        8: "op66",
        9: "op68",
        10: "op70",
    },
    "rachmaninoff": {1: "op28", 2: "op36"},
    "brahms": {1: "op1", 2: "op2", 3: "op5"},
    "schumann": {1: "op11", 2: "op22", 3: "op14"},
}
# Opus numbers whose "No." names separate multi-movement works (Beethoven's sonatas published
# in threes, pairs); any other "No." after a Beethoven opus is a number within a set.
_BEETHOVEN_SONATA_SETS = {2, 10, 14, 27, 31, 49}
# Searle's catalogue lists Liszt's original works below S. 350, his arrangements from there on.
_SEARLE = 350
# Liszt's numbered sets named in titles without their S. number (Searle catalogue).
_LISZT_NUMBERED = (
    (re.compile(r"transcendental etude no\.? (\d+)"), "s139"),
    (re.compile(r"hungarian rhapsody,? no\.? (\d+)"), "s244"),
    (re.compile(r"(?:paganini etude|etudes? de paganini),? no\.? (\d+)"), "s141"),
)
# Bach's numbered keyboard sets: BWV of No. 1 (English Suites 806-811, French 812-817,
# Partitas 825-830).
_BACH_SETS = {"english suite": 806, "french suite": 812, "partita": 825}
_BACH_NUMBERED = re.compile(r"\b(english suite|french suite|partita),? no\.? ?(\d)\b")
# Sets whose roman-numbered parts are pieces of their own (Debussy's Preludes, Lesure 1977).
_SETS_WITH_PARTS = {"debussy:l117", "debussy:l123", "debussy:l136"}
_GENRE_NUMBERS: dict[str, dict[tuple[str, int], str]] = {
    "chopin": {
        ("ballade", 1): "op23",
        ("ballade", 2): "op38",
        ("ballade", 3): "op47",
        ("ballade", 4): "op52",
        ("scherzo", 1): "op20",
        ("scherzo", 2): "op31",
        ("scherzo", 3): "op39",
        ("scherzo", 4): "op54",
    },
}
# WTC order: C, c, C#, c#, D, d, Eb, eb/d#, E, e, F, f, F#, f#, G, g, Ab, g#, A, a, Bb, bb, B, b.
_PITCH = {"c": 0, "d": 2, "e": 4, "f": 5, "g": 7, "a": 9, "b": 11}
_KEY = re.compile(
    r"\bin\s+([a-g])(?:[\s-]*(sharp|flat|#)\b|(?<=[a-g])b\b)?[\s-]*(major|minor|moll|dur)\b"
)
_WTC_BOOK = re.compile(r"\b(?:wtc|wtk|book)\s*(ii|i|1|2)\b")
_WTC_NUMBER = re.compile(r"\bno\.?\s*(\d+)\s*wt[ck]")
_MOVEMENT_WORDS = re.compile(
    r"((?:(?:first|second|third|fourth|fifth|\d(?:st|nd|rd|th))[\s,&]*(?:and\s+)?)+)\s*mov"
)
_ROMAN_PARTS = re.compile(r",\"?\s*((?:[ivx]+\.?\s*(?:and|&|,)\s*)*[ivx]+)\s*(?:\.|-|–)")
_COMPLETE = re.compile(r"\(complete\)")
_SELECTION = re.compile(r"\(selections?\)|\bselections\b|\bmissing opening\b")
_FROM_SET = re.compile(r"\bfrom\s+(?:the\s+)?op\b")


class TitleReading(BaseModel):
    """What the rules read from one title (before overrides)."""

    work_id: str | None
    scope: str
    note: str = ""


class WorkOverride(BaseModel):
    """One reviewed entry of `work_overrides.yaml`: titles MAESTRO got wrong or left unclear."""

    model_config = ConfigDict(extra="forbid")

    composer: str  # MAESTRO's canonical_composer, as written there
    titles: dict[str, str | None]  # title → scope for that title (None: the rules' scope)
    work: str | None  # None: unresolved (listed, never guessed)
    composer_corrected: str | None = None  # the real composer when MAESTRO names another
    families: list[str] = []  # extra families negatives must avoid (versions, the set)
    candidates: list[str] = []  # unresolved: the works it may be (they guard negatives)
    error: str  # the kind of MAESTRO error, e.g. "consecutive-catalogue-numbers"
    reason: str
    citation: str | None = None

    @field_validator("work", "families", "candidates", mode="after")
    @classmethod
    def _work_ids(cls, value: str | list[str] | None) -> str | list[str] | None:
        for work in [value] if isinstance(value, str) else value or []:
            if not _WORK_ID.fullmatch(work):
                raise ValueError(f"{work!r} is not a work id like 'chopin:op52'")
        return value

    @field_validator("titles", mode="after")
    @classmethod
    def _scopes(cls, value: dict[str, str | None]) -> dict[str, str | None]:
        for title, scope in value.items():
            if scope is not None:
                parse_scope(scope, where=title)
        return value

    @model_validator(mode="after")
    def _resolved_or_listed(self) -> WorkOverride:
        if self.work is None and not self.reason:
            raise ValueError("an unresolved entry must say why")
        if self.work is not None and self.candidates:
            raise ValueError("candidates are for unresolved entries only")
        return self


class WorkOverrides(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int
    overrides: list[WorkOverride]

    @model_validator(mode="after")
    def _unique_titles(self) -> WorkOverrides:
        seen: set[tuple[str, str]] = set()
        for entry in self.overrides:
            for title in entry.titles:
                key = title_key(entry.composer, title)
                if key in seen:
                    raise ValueError(f"title overridden twice: {key}")
                seen.add(key)
        return self

    def by_title(self) -> dict[tuple[str, str], WorkOverride]:
        return {
            title_key(entry.composer, title): entry
            for entry in self.overrides
            for title in entry.titles
        }


_WORK_ID = re.compile(r"[a-z][a-z0-9-]*:[a-z0-9][a-z0-9.+-]*")
_SCOPE = re.compile(r"complete|excerpt|unknown|(movements|numbers):\d+(?:[-,]\d+)*")


def parse_scope(scope: str, where: str = "") -> str:
    if not _SCOPE.fullmatch(scope):
        raise ValueError(
            f"{where}: scope {scope!r} is not complete, excerpt, movements:N[,M] or numbers:N-M"
        )
    return scope


# -- text ------------------------------------------------------------------------------------


def fold(text: str) -> str:
    """Accents off, case folded, quotes straightened, spaces collapsed; punctuation kept."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    for curly, straight in (("“", '"'), ("”", '"'), ("’", "'"), ("«", '"'), ("»", '"')):
        plain = plain.replace(curly, straight)
    return re.sub(r"\s+", " ", plain).strip()


def title_key(composer: str, title: str) -> tuple[str, str]:
    """How overrides name a title: MAESTRO's strings, case-folded, runs of spaces collapsed."""
    return " ".join(composer.split()).casefold(), " ".join(title.split()).casefold()


def composer_slug(name: str) -> str:
    """`Frédéric Chopin` → `chopin`, `Nikolai Rimsky-Korsakov` → `rimsky-korsakov`."""
    return re.sub(r"[^a-z-]", "", fold(name).split(" ")[-1])


def composer_slugs(canonical_composer: str) -> list[str]:
    """MAESTRO writes arrangements as 'Composer / Arranger'."""
    return [composer_slug(part) for part in canonical_composer.split("/") if part.strip()]


def _numbers(text: str) -> list[int]:
    """'2, 4 and 5' → [2, 4, 5]; '1-5' → [1, 2, 3, 4, 5]; '1, 2 and no. 3' → [1, 2, 3]."""
    found: list[int] = []
    for start, end in re.findall(r"(\d+)\s*(?:[-–]\s*(\d+))?", text):
        first = int(start)
        found.extend(range(first, int(end) + 1) if end else [first])
    return sorted(set(found))


def format_numbers(numbers: Iterable[int]) -> str:
    """[1, 2, 3, 5] → '1-3,5' (a canonical form, so equal scopes are equal strings)."""
    values = sorted(set(numbers))
    runs: list[str] = []
    start = prev = values[0]
    for value in [*values[1:], None]:
        if value is not None and value == prev + 1:
            prev = value
            continue
        runs.append(f"{start}" if start == prev else f"{start}-{prev}")
        if value is not None:
            start = prev = value
    return ",".join(runs)


def scope_numbers(scope: str) -> tuple[str, list[int]]:
    """'movements:1-3' → ('movements', [1, 2, 3]); 'complete' → ('complete', [])."""
    kind, _, rest = scope.partition(":")
    return kind, _numbers(rest) if rest else []


# -- rules -----------------------------------------------------------------------------------


def _movements(folded: str) -> list[int]:
    words = _MOVEMENT_WORDS.search(folded)
    if words:
        return sorted(
            {
                _ORDINALS[w]
                for w in re.findall(
                    r"first|second|third|fourth|fifth|\dst|\dnd|\drd|\dth", words.group(1)
                )
            }
        )
    roman = _ROMAN_PARTS.search(folded)
    if roman:
        return sorted({_ROMAN[r] for r in re.findall(r"[ivx]+", roman.group(1)) if r in _ROMAN})
    return []


def _wtc_bwv(folded: str) -> tuple[int | None, str]:
    """BWV of a Well-Tempered Clavier prelude and fugue from its book and key (or number)."""
    if "prelude" not in folded or "fug" not in folded:
        return None, ""
    book_match = _WTC_BOOK.search(folded)
    if not book_match:
        return None, ""
    book = 2 if book_match.group(1) in ("ii", "2") else 1
    first = 846 if book == 1 else 870
    number = _WTC_NUMBER.search(folded)
    if number:
        return first + int(number.group(1)) - 1, f"WTC {book} no. {number.group(1)}"
    key = _KEY.search(folded)
    if not key:
        return None, ""
    letter, accidental, mode = key.groups()
    pitch = _PITCH[letter]
    if mode in ("moll", "dur") and letter == "b" and not accidental:
        pitch = 10  # German "B" is B-flat
    if accidental in ("sharp", "#"):
        pitch += 1
    elif accidental == "flat" or (accidental is None and key.group(0).split()[1][1:2] == "b"):
        pitch -= 1
    minor = mode in ("minor", "moll")
    return first + 2 * (pitch % 12) + int(minor), f"WTC {book}, key"


def _opus_reading(folded: str) -> tuple[int, str, list[int]] | None:
    match = _OPUS.search(folded)
    if not match:
        return None
    after = _NUMBERS_AFTER.match(folded, match.end())
    numbers = _numbers(after.group(1)) if after else []
    return int(match.group(1)), match.group(2) or "", numbers


def _system_catalogue(system: str, folded: str) -> tuple[str | None, list[int], str]:
    """One catalogue system's number in a title, checked against the title's other numbers."""
    if system == "hob":
        hob = _HOBOKEN.search(folded)
        return (f"hob{hob.group(1)}-{hob.group(2)}", [], "") if hob else (None, [], "")
    match = _CATALOGUES[system].search(folded)
    if not match:
        return None, [], ""
    after = _NUMBERS_AFTER.match(folded, match.end())
    numbers = _numbers(after.group(1)) if after else []
    opus = _opus_reading(folded)
    if opus and not numbers:
        numbers = opus[2]  # "Impromptu Op. 90 No. 3, D899": the number follows the opus
    number = int(match.group(1))
    if system == "d" and opus and SCHUBERT_OPUS_TO_D.get(opus[0]) != number:
        return None, [], f"D. {number} disagrees with Op. {opus[0]}"
    wtc, how = _wtc_bwv(folded) if system == "bwv" else (None, "")
    if wtc and wtc != number:
        return None, [], f"BWV {number} disagrees with {how} (BWV {wtc})"
    return f"{system}{number}", numbers, ""


def _bach_catalogue(folded: str) -> tuple[str | None, list[int], str]:
    """BWV from a WTC title's book and key, or from a numbered suite or partita."""
    bwv, how = _wtc_bwv(folded)
    if bwv:
        return f"bwv{bwv}", [], f"BWV from {how}"
    suite = _BACH_NUMBERED.search(folded)
    if suite:
        first = _BACH_SETS[suite.group(1)] + int(suite.group(2)) - 1
        return f"bwv{first}", [], f"{suite.group(1).title()} No. {suite.group(2)}"
    return None, [], ""


def _catalogue(slugs: list[str], folded: str) -> tuple[str | None, list[int], str]:
    """The catalogue id (without numbers) and the set numbers a title names, and a note."""
    for system in [s for slug in slugs for s in _COMPOSER_CATALOGUES.get(slug, ())]:
        found, numbers, note = _system_catalogue(system, folded)
        if found or note:
            return found, numbers, note
    base = slugs[0]
    if base == "bach":
        return _bach_catalogue(folded)
    opus = _opus_reading(folded)
    if opus is None:
        return None, [], ""
    number, letter, numbers = opus
    if base == "schubert":  # Schubert's works are known by their Deutsch numbers
        deutsch = SCHUBERT_OPUS_TO_D.get(number)
        if deutsch is None:
            return None, [], f"Schubert Op. {number} has no known D number here"
        return f"d{deutsch}", numbers, f"D from Op. {number}"
    return f"op{number}{letter}", numbers, ""


def _named_numbers(slug: str, folded: str) -> tuple[str | None, str]:
    """Numbered works named without a catalogue number ('Sonata No. 3', 'Ballade No. 4')."""
    sonata = re.search(r"\bsonata,? no\.? (\d+)\b", folded) or re.search(
        r"\bsonata (\d+)\b(?! ?[a-z]*\.?\s*\d)", folded
    )
    if sonata and slug in SONATA_NUMBERS:
        found = SONATA_NUMBERS[slug].get(int(sonata.group(1)))
        if found:
            return found, f"Sonata No. {sonata.group(1)}"
    for (genre, number), work in _GENRE_NUMBERS.get(slug, {}).items():
        if re.search(rf"\b{genre},? (?:no\.? )?{number}\b", folded):
            return work, f"{genre.title()} No. {number}"
    if slug == "liszt":
        for pattern, catalogue in _LISZT_NUMBERED:
            match = pattern.search(folded)
            if match:
                return f"{catalogue}no{match.group(1)}", "numbered set"
    return None, ""


def _scope(folded: str, movements: list[int], numbers: list[int]) -> str:
    """The scope a title's text claims: movements, set numbers, an excerpt, or complete."""
    scope = COMPLETE
    if movements:
        scope = f"movements:{format_numbers(movements)}"
    elif numbers:
        scope = f"numbers:{format_numbers(numbers)}"
    if _SELECTION.search(folded) or (_FROM_SET.search(folded) and not numbers):
        scope = EXCERPT
    if _COMPLETE.search(folded) and scope != COMPLETE:
        return UNKNOWN_SCOPE  # "(Complete)" and a part at once: the title contradicts itself
    return scope


def _author(slugs: list[str], catalogue: str) -> str:
    """Whose catalogue names the work: the composer, an arrangement, or Liszt's own S. 350+."""
    searle = re.fullmatch(r"s(\d+)(?:no\d+)?", catalogue)
    if len(slugs) > 1 and "liszt" in slugs and searle and int(searle.group(1)) >= _SEARLE:
        return "liszt"  # Liszt's transcriptions and paraphrases are his own works
    return slugs[0] if len(slugs) == 1 else "-".join(slugs)


def _agreed_catalogue(
    base: str, folded: str, catalogue: str | None, numbers: list[int]
) -> tuple[str | None, str]:
    """The catalogue once a number the title names ('Sonata No. 3') agrees with it."""
    named, named_note = _named_numbers(base, folded)
    if named is None or named == catalogue:
        return catalogue, ""
    if catalogue is None:
        return named, named_note
    if named.startswith(catalogue + "no") and not numbers:
        return named, ""  # "Hungarian Rhapsody No. 9, S. 244": the number is the set's
    return None, f"catalogue {catalogue} disagrees with {named_note} ({named})"


def read_title(canonical_composer: str, title: str) -> TitleReading:
    """The rules: a work id and a scope from the title's text and catalogue numbers."""
    slugs = composer_slugs(canonical_composer)
    base = slugs[0]
    folded = fold(title)
    movements = _movements(folded)
    if base == "bach" and "suite" in folded and re.search(r"\bprelude\b", folded):
        movements = [1]  # the Prelude opens every English Suite
    catalogue, numbers, note = _catalogue(slugs, folded)
    if catalogue is not None and len(numbers) == 1:
        catalogue, numbers = f"{catalogue}no{numbers[0]}", []
    catalogue, disagreement = _agreed_catalogue(base, folded, catalogue, numbers)
    note = disagreement or note
    if catalogue is None:
        return TitleReading(
            work_id=None, scope=_scope(folded, movements, []), note=note or "no catalogue number"
        )
    opus = re.fullmatch(r"op(\d+)[a-z]?(?:no(\d+))?", catalogue)
    if (
        base == "beethoven"
        and "sonata" in folded
        and opus is not None
        and opus.group(2) is not None  # a "No." on a single sonata's opus
        and int(opus.group(1)) not in _BEETHOVEN_SONATA_SETS
    ):
        return TitleReading(
            work_id=None,
            scope=_scope(folded, movements, []),
            note=f"Op. {opus.group(1)} is one sonata, yet the title adds No. {opus.group(2)}",
        )
    author = _author(slugs, catalogue)
    if f"{author}:{catalogue}" in _SETS_WITH_PARTS and movements:
        numbers, movements = movements, []  # a prelude of a book is a piece of its own
        if len(numbers) == 1:
            catalogue, numbers = f"{catalogue}no{numbers[0]}", []
    scope = _scope(folded, movements, numbers)
    if scope == UNKNOWN_SCOPE:
        return TitleReading(work_id=None, scope=scope, note="'(Complete)' and a part at once")
    return TitleReading(work_id=f"{author}:{catalogue}", scope=scope, note=note)


def default_families(work_id: str) -> list[str]:
    """A work's catalogue root, under its base composer: what negatives must not join."""
    author, catalogue = work_id.split(":", 1)
    root = re.sub(r"no\d+$", "", catalogue)
    return [f"{author.split('-')[0]}:{root}"]


# -- overrides and the table -----------------------------------------------------------------


@cache
def load_overrides() -> WorkOverrides:
    """The reviewed overrides shipped with the package (validated on load)."""
    text = resources.files("piano_assets.maestro").joinpath(OVERRIDES_RESOURCE).read_text("utf-8")
    return WorkOverrides.model_validate(yaml.safe_load(text))


class WorkRow(BaseModel):
    """One row of the works table: a distinct (canonical_composer, canonical_title)."""

    canonical_composer: str
    canonical_title: str
    composer: str  # corrected where MAESTRO names the wrong composer
    work_id: str | None
    families: list[str]
    title_scope: str
    resolution: Resolution
    error: str | None
    reason: str
    citation: str | None


def resolve_title(
    canonical_composer: str, canonical_title: str, overrides: WorkOverrides | None = None
) -> WorkRow:
    """Rules, then the reviewed override for this title if there is one."""
    entry = (
        (overrides or load_overrides())
        .by_title()
        .get(title_key(canonical_composer, canonical_title))
    )
    reading = read_title(canonical_composer, canonical_title)
    if entry is None:
        resolved = reading.work_id is not None
        return WorkRow(
            canonical_composer=canonical_composer,
            canonical_title=canonical_title,
            composer=canonical_composer,
            work_id=reading.work_id,
            families=default_families(reading.work_id) if reading.work_id else [],
            title_scope=reading.scope,
            resolution=RULE if resolved else UNRESOLVED,
            error=None,
            reason=reading.note or ("catalogue number in the title" if resolved else ""),
            citation=None,
        )
    scope = {title_key(entry.composer, t): s for t, s in entry.titles.items()}[
        title_key(canonical_composer, canonical_title)
    ]
    families = [*default_families(entry.work)] if entry.work else []
    families += [f for f in [*entry.families, *entry.candidates] if f not in families]
    for candidate in entry.candidates:
        families += [f for f in default_families(candidate) if f not in families]
    return WorkRow(
        canonical_composer=canonical_composer,
        canonical_title=canonical_title,
        composer=entry.composer_corrected or canonical_composer,
        work_id=entry.work,
        families=families,
        title_scope=(scope or reading.scope) if entry.work else UNKNOWN_SCOPE,  # rules read it
        resolution=OVERRIDE if entry.work else UNRESOLVED,
        error=entry.error,
        reason=entry.reason,
        citation=entry.citation,
    )


WORKS_SCHEMA: dict[str, pl.DataType] = {
    "canonical_composer": pl.String(),
    "canonical_title": pl.String(),
    "composer": pl.String(),
    "work_id": pl.String(),
    "families": pl.List(pl.String()),
    "title_scope": pl.String(),
    "resolution": pl.String(),
    "error": pl.String(),
    "reason": pl.String(),
    "citation": pl.String(),
}


def resolve_works(recordings: pl.DataFrame, overrides: WorkOverrides | None = None) -> pl.DataFrame:
    """One row per distinct (canonical_composer, canonical_title) of `recordings`."""
    titles = (
        recordings.select("canonical_composer", "canonical_title")
        .unique()
        .sort("canonical_composer", "canonical_title")
    )
    rows = [resolve_title(c, t, overrides).model_dump() for c, t in titles.iter_rows()]
    return pl.DataFrame(rows, schema=WORKS_SCHEMA, orient="row")


def unused_overrides(recordings: pl.DataFrame, overrides: WorkOverrides | None = None) -> list[str]:
    """Override titles that match no recording (a typo in the file would silently do nothing)."""
    titles = recordings.select("canonical_composer", "canonical_title").unique()
    present = {title_key(c, t) for c, t in titles.iter_rows()}
    return sorted(
        f"{entry.composer} :: {title}"
        for entry in (overrides or load_overrides()).overrides
        for title in entry.titles
        if title_key(entry.composer, title) not in present
    )
