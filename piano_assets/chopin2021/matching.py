"""Video titles -> performer, round and piece. Dagster-free.

The official channel titles a performance "BRUCE (XIAOYU) LIU – first round (18th Chopin
Competition, Warsaw)"; single pieces read "Bruce (Xiaoyu) Liu – Ballade in F minor Op. 52
(first stage)"; whole sessions read "The 18th International Fryderyk Chopin Piano Competition
(Stage I), session 3, 04.10.2021" and hold several performers. The matcher is robust to
diacritics, a name in parentheses, surname-first order and capitals (see `names.py`), and it
never guesses: a title naming no performer, several performers, no round, a round the
performer never reached, or another edition goes to the ledger with the reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel, Field

from piano_assets.chopin2021.names import fold, name_tokens, name_variants
from piano_assets.chopin2021.results import (
    CompetitionResults,
    PerformerResult,
    Round,
    find_rounds,
)


class MatchStatus(StrEnum):
    MATCHED = "matched"
    UNMATCHED = "unmatched"  # names no performer, or is not a 2021 performance
    AMBIGUOUS = "ambiguous"  # names several performers, or the round is missing/contradictory
    SESSION = "session"  # a whole session: several performers in one video


class TitleMatch(BaseModel):
    status: MatchStatus
    performer: str | None = None
    round: Round | None = None
    piece: str | None = None
    candidates: list[str] = Field(default_factory=list)
    reason: str


# Editions other than the 18th (2021, planned for 2020): their videos share the channel.
_OTHER_EDITION = re.compile(
    r"\b(?:1[0-7]th|19th|2[0-9]th|xvii|xix|xvi|xv|xx|1955|19[6-9]\d|200\d|201[0-9]|202[2-9])\b"
)
_THIS_EDITION = re.compile(r"\b(?:18th|xviii|2021|2020)\b")
_SESSION = re.compile(r"\b(?:session|sesja|day \d+|dzien \d+)\b")
_NOT_A_PERFORMANCE = re.compile(
    r"\b(?:interview|wywiad|backstage|press conference|trailer|announcement|ceremony|studio"
    r"|rehearsal|documentary|jury|results?|gala|inaugurat\w*|laureates? concert)\b"
)
_WORK = re.compile(
    r"\b(?:op|opus|ballade?s?|concerto|sonata|etudes?|nocturnes?|mazurkas?|polonaises?|scherzo"
    r"|scherzos|waltz(?:es)?|preludes?|impromptus?|fantas\w*|barcarolle|berceuse|rondo|variations"
    r"|bolero|tarantella|allegro|andante|ecossaises?|krakowiak|largo|sonatas)\b"
)
_SEPARATOR = re.compile(r"\s+[–—-]+\s+|\s*[–—]\s*|\s*\|\s*")
_TRAILING_PARENS = re.compile(r"\s*\([^()]*\)\s*$")
_NOT_A_NAME = re.compile(r"\b(?:competition|konkurs\w*|warsaw|warszawa|institute|instytut)\b")
_NAME_TOKENS = (2, 6)  # a name has 2 to 6 words
NO_PERFORMER_REASON = "names no performer of the 2021 results"


def edition_named(text: str) -> bool | None:
    """True: `text` names the 18th (2021) edition; False: another edition; None: none."""
    folded = " ".join(re.findall(r"[a-z0-9]+", fold(text)))
    if _THIS_EDITION.search(folded):
        return True
    return False if _OTHER_EDITION.search(folded) else None


def name_candidates(title: str) -> list[str]:
    """Parts of a title that read as a person's name: 2–6 words of letters, naming no round,
    edition, work or venue ("JAEYOON LEE – first round (18th Chopin Competition, Warsaw)"
    gives ["JAEYOON LEE"])."""
    candidates: list[str] = []
    for part in _SEPARATOR.split(title):
        text = part.strip(" ,;:")
        while _TRAILING_PARENS.search(text):
            text = _TRAILING_PARENS.sub("", text).strip(" ,;:")
        folded = " ".join(re.findall(r"[a-z0-9]+", fold(text)))
        words = text.replace("(", " ").replace(")", " ").split()
        if (
            not text
            or any(char.isdigit() for char in text)
            or not all(any(c.isalpha() for c in word) for word in words)
            or not _NAME_TOKENS[0] <= len(words) <= _NAME_TOKENS[1]
            or find_rounds(text)
            or _WORK.search(folded)
            or _NOT_A_NAME.search(folded)
            or _SESSION.search(folded)
            or _NOT_A_PERFORMANCE.search(folded)
        ):
            continue
        candidates.append(text)
    return candidates


@dataclass(frozen=True)
class _Variant:
    performer: PerformerResult
    tokens: tuple[str, ...]


@dataclass(frozen=True)
class _Hit:
    performer: PerformerResult
    start: int
    end: int


class Roster:
    """The performers of the results, indexed by every way their names may be written."""

    def __init__(self, results: CompetitionResults) -> None:
        self.results = results
        self._variants: list[_Variant] = []
        for performer in results.performers:
            seen: set[tuple[str, ...]] = set()
            for name in performer.all_names():
                for tokens in name_variants(name):
                    # One-token variants ("Liu") would match too much; keep full names only.
                    if len(tokens) >= 2 and tokens not in seen:
                        seen.add(tokens)
                        self._variants.append(_Variant(performer, tokens))

    def find(self, text: str) -> list[_Hit]:
        """Performers named in `text`: a window of its tokens that is a permutation of a name."""
        tokens = name_tokens(text)
        hits: list[_Hit] = []
        for variant in self._variants:
            size = len(variant.tokens)
            wanted = sorted(variant.tokens)
            for start in range(len(tokens) - size + 1):
                if sorted(tokens[start : start + size]) == wanted:
                    hits.append(_Hit(variant.performer, start, start + size))
        return _drop_contained(hits)


def _drop_contained(hits: list[_Hit]) -> list[_Hit]:
    """Keep the longest reading: "Hyuk Lee" inside a longer name's window is not a second hit."""
    kept: list[_Hit] = []
    for hit in sorted(hits, key=lambda h: -(h.end - h.start)):
        inside_other = any(
            other.start <= hit.start and hit.end <= other.end and other.performer != hit.performer
            for other in kept
        )
        if not inside_other:
            kept.append(hit)
    return kept


def _piece_from(title: str, roster: Roster) -> str | None:
    """The work named beside the performer, if the title names one ('Ballade in F minor ...')."""
    for part in _SEPARATOR.split(title):
        text = part.strip()
        while _TRAILING_PARENS.search(text):
            text = _TRAILING_PARENS.sub("", text).strip()
        if not text or roster.find(text):
            continue
        folded = fold(text)
        if _THIS_EDITION.search(folded) and not _WORK.search(folded):
            continue
        if find_rounds(text) and not _WORK.search(folded):
            continue
        if _WORK.search(folded):
            return text.strip(" ,;:")
    return None


def _not_a_recording(folded: str, names: list[str], round_: Round | None) -> TitleMatch | None:
    """Why a title is not one performer's recording of this edition (None: it may be one)."""
    reason: str | None = None
    status = MatchStatus.UNMATCHED
    if _OTHER_EDITION.search(folded) and not _THIS_EDITION.search(folded):
        reason = "another edition of the competition"
    elif _SESSION.search(folded):
        status = MatchStatus.SESSION
        reason = "a whole session with several performers; per-performer videos are used"
    elif _NOT_A_PERFORMANCE.search(folded):
        reason = "not a competition performance (interview, ceremony, concert, ...)"
    elif not names:
        reason = NO_PERFORMER_REASON
    elif len(names) > 1:
        status = MatchStatus.AMBIGUOUS
        reason = f"names several performers: {', '.join(names)}"
    if reason is None:
        return None
    return TitleMatch(status=status, round=round_, candidates=names, reason=reason)


def _round_problem(performer: PerformerResult, rounds: list[Round]) -> str | None:
    if not rounds:
        return f"{performer.name}: title names no round"
    if len(rounds) > 1:
        return f"{performer.name}: title names several rounds: {', '.join(r.label for r in rounds)}"
    if rounds[0].order > performer.furthest_round.order:
        return (
            f"{performer.name}: title says {rounds[0].label}, but the results say the "
            f"furthest round reached was {performer.furthest_round.label}"
        )
    return None


def match_title(title: str, roster: Roster, *, playlist: str | None = None) -> TitleMatch:
    """Performer, round and piece of one video title (the playlist's title may give the round)."""
    folded = " ".join(re.findall(r"[a-z0-9]+", fold(title)))
    hits = roster.find(title)
    names = list(dict.fromkeys(hit.performer.name for hit in hits))
    rounds = find_rounds(title) or (find_rounds(playlist) if playlist else [])
    only_round = rounds[0] if len(rounds) == 1 else None
    rejected = _not_a_recording(folded, names, only_round)
    if rejected is not None:
        return rejected
    performer = hits[0].performer
    problem = _round_problem(performer, rounds)
    if problem is not None or only_round is None:
        return TitleMatch(
            status=MatchStatus.AMBIGUOUS,
            round=only_round,
            candidates=names,
            reason=problem or f"{performer.name}: no round",
        )
    return TitleMatch(
        status=MatchStatus.MATCHED,
        performer=performer.name,
        round=only_round,
        piece=_piece_from(title, roster),
        candidates=names,
        reason="performer and round named in the title",
    )
