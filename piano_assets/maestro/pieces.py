"""Pieces, works and performances of MAESTRO v3: the piece→performance map and its stats.

Dagster-free.

## Pieces (`normalize_text`, kept for continuity)

MAESTRO's `canonical_title` is "not guaranteed to be standardized". A *piece* is
`(composer, title)` folded lexically (accents, case, punctuation, 'Op.' spacing): "Variations
Serieuses, Op. 54" and "Variations sérieuses, Op. 54" are one piece. `piece_id` is kept in the
map so older tables can be joined, but it no longer groups anything.

## Works (`works.py`)

What groups recordings is the *work identity*: composer (corrected where MAESTRO is wrong) and
catalogue number, `work_id` (`chopin:op52`, `schubert:d958`), with a *scope* (complete,
movements, numbers, excerpt) and how it was resolved (rule, reviewed override, unresolved).

## Recitals, performances and the performer proxy

MAESTRO has no performer names. Its files are cut from source recordings, and the file names
say which: `AUDIO_07_R2_2009` is recital 7 of round 2 of the 2009 competition, whatever MIDI
prefix MAESTRO gave its files (the old proxy, one session per prefix, spread one 2004 or 2009
recital over 2-4 "sessions"). The proxy, stated in `PERFORMER_PROXY_RULE`:

* **recital** (`recital_id`, e.g. `2009-r2-07`): `AUDIO_NN_Rx_YYYY` (or `AUDIO-from_mp3_NN_Rx_`,
  2015) in the audio part of the file name; in 2011, whose audio names a disk, the MIDI part's
  `NN_Rx_2011`; otherwise (2017) the source recording the file was cut from (`session_id`);
* assumption A: all files of one recital are one performer;
* assumption B: within one competition year no contestant plays the same work twice, so two
  recitals of one year that play the same work are two contestants (`NN` is not taken as a
  contestant number across rounds);
* across years the performer is unknown (contestants return);
* ATEPP performer names, when joined, decide instead.

A **performance** is (recital, work): its files are its parts, in file order, and its scope is
the join of its titles' scopes. A performance claiming a complete work (or the same movements)
whose summed duration is off by more than `DURATION_RATIO` from the median of the work's other
performances at that scope is demoted to `excerpt` (an 8-minute "Sonata D. 958" is not the
complete 30-minute sonata).
"""

from __future__ import annotations

import hashlib
import re
import statistics
import unicodedata
from pathlib import Path, PurePosixPath

import polars as pl
from pydantic import BaseModel

from piano_assets.engine.files import UnsafeNameError, validate_key
from piano_assets.maestro.metadata import MaestroMetadataError, recording_key
from piano_assets.maestro.works import (
    COMPLETE,
    EXCERPT,
    UNRESOLVED,
    WORK_RULE,
    format_numbers,
    resolve_works,
    scope_numbers,
)

NORMALIZATION_RULE = (
    "piece = (composer, title) folded: Unicode NFKD without accents; case-folded; punctuation "
    "to spaces; 'opus' -> 'op'; catalogue prefixes split from numbers (op, no, nos, bwv, d, s, "
    "k, kv, l, m, hob, woo: 'Op.54'/'Op. 54'/'Op54' -> 'op 54'); spaces collapsed. Lexical only; "
    "kept as piece_id for continuity. Grouping is by work: " + WORK_RULE
)
PERFORMER_PROXY_RULE = (
    "MAESTRO has no performer names. Recital = AUDIO_NN_Rx_YYYY in the audio file name (2011: "
    "NN_Rx_2011 of the MIDI name; otherwise the source recording the file was cut from). "
    "Assumption A: one recital is one performer. Assumption B: within one competition year no "
    "contestant plays the same work twice, so two recitals of one year playing the same work are "
    "two contestants (NN is not a contestant number across rounds). Across years the performer "
    "is unknown (contestants return). Performance = (recital, work), its files read in order. "
    "Pairs whose 'different performer' rests on A/B or on different years are marked "
    "performer_assumed. ATEPP performer names are joined when its metadata links MAESTRO "
    "recordings, and decide."
)
PERFORMER_SOURCE_ATEPP = "atepp"
PERFORMER_SOURCE_NONE = "none (MAESTRO has no performer names)"
CATALOGUE_PREFIXES = ("op", "no", "nos", "bwv", "d", "s", "k", "kv", "l", "m", "hob", "woo")
# A performance at a scope may last this many times more or less than the median of the
# work's performances at that scope (repeats, tempi) before it is taken for something else.
DURATION_RATIO = 1.5

_NON_WORD = re.compile(r"[^\w\s]|_", re.UNICODE)
_OPUS = re.compile(r"\bopus\b")
_GLUED_NUMBER = re.compile(r"\b(" + "|".join(CATALOGUE_PREFIXES) + r")(\d)")
# Catalogue numbers that identify a work within a composer's output (not "no", which is local).
_CATALOGUE_ID = re.compile(r"\b(op|bwv|d|s|k|kv|l|m|hob|woo) (\d+[a-z]?)\b")
_SPACES = re.compile(r"\s+")
# The part suffix MAESTRO appended when it cut a source recording into files.
_PART_SUFFIX = re.compile(r"(--\d+|_\d+_Track\d+_wav|_\d+_WAV)$", re.IGNORECASE)
_DIGITS = re.compile(r"\d+")
_RECITAL = re.compile(r"(\d+)_(R\d)_(\d{4})")


def normalize_text(text: str) -> str:
    """Fold a composer or title for grouping: accents, case, punctuation, catalogue spacing."""
    decomposed = unicodedata.normalize("NFKD", text)
    folded = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    spaced = _NON_WORD.sub(" ", folded)
    spaced = _OPUS.sub("op", spaced)
    spaced = _GLUED_NUMBER.sub(r"\1 \2", spaced)
    return _SPACES.sub(" ", spaced).strip()


def session_key(audio_filename: str) -> str:
    """The source recording (session) a MAESTRO file was cut from, as a safe key."""
    path = PurePosixPath(audio_filename)
    stem = _PART_SUFFIX.sub("", path.stem) or path.stem
    return recording_key(str(path.with_name(stem + ".wav")))


def recital_key(audio_filename: str) -> str:
    """The recital (one contestant's program in one round) a file belongs to: `2009-r2-07`.

    `AUDIO_NN_Rx_YYYY` in the audio part of the name wins over the MIDI part (2004 has MIDI
    prefixes naming another recital); 2011 names audio disks, so its MIDI part decides; names
    with neither (2017) fall back to the source recording, `session_key`.
    """
    stem = PurePosixPath(audio_filename).stem
    midi, separator, audio = stem.partition("--")
    audio = audio if separator else stem  # a name without a MIDI part is all audio
    found = _RECITAL.search(audio) or (_RECITAL.search(midi) if "AUDIO_R" in audio else None)
    if found is None:
        return session_key(audio_filename)
    number, round_, year = found.groups()
    return f"{year}-{round_.lower()}-{int(number):02d}"


def natural_order(audio_filename: str) -> str:
    """A sort key putting parts in order ("--2" before "--10")."""
    return _DIGITS.sub(lambda m: m.group().zfill(8), audio_filename)


def piece_key(composer: str, title: str) -> str:
    return f"{normalize_text(composer)} :: {normalize_text(title)}"


def piece_id(key: str) -> str:
    """Short stable id of a normalized piece (a hash of its key)."""
    return "piece-" + hashlib.sha1(key.encode(), usedforsecurity=False).hexdigest()[:12]


def catalogue_ids(composer: str, title: str) -> list[str]:
    """Catalogue numbers of a title, qualified by composer ("frederic chopin :: op 23")."""
    composer_key = normalize_text(composer)
    found = {f"{p} {n}" for p, n in _CATALOGUE_ID.findall(normalize_text(title))}
    return sorted(f"{composer_key} :: {ident}" for ident in found)


class PieceStats(BaseModel):
    """Raw titles → normalized pieces → works, and what positives can use.

    `raw_*`: exact (composer, title) as MAESTRO spells it. `pieces`: normalized titles.
    `works`: resolved work ids. A performance is (recital, work); "performers" are counted by
    the proxy (distinct recitals).
    """

    recordings: int
    hours: float
    raw_pieces: int
    raw_multi_recording_pieces: int
    raw_multi_performance_pieces: int
    raw_recordings_in_multi_performance_pieces: int
    pieces: int
    multi_recording_pieces: int
    performances: int
    multi_part_performances: int
    recordings_in_multi_part_performances: int
    multi_performance_pieces: int
    recordings_in_multi_performance_pieces: int
    pieces_merged_by_normalization: int
    multi_performance_pieces_spanning_splits: int
    recordings_with_performer_names: int
    recitals: int
    works: int
    works_with_2_plus_performers: int
    recordings_in_works_with_2_plus_performers: int
    titles_resolved_by_rule: int
    titles_resolved_by_override: int
    titles_unresolved: int
    recordings_unresolved: int
    pieces_split_across_works: int
    works_merging_2_plus_pieces: int
    performances_demoted_by_duration: int
    works_in_2_plus_splits: int
    performances_across_splits: int
    recitals_across_splits: int


class AteppJoin(BaseModel):
    """What joining ATEPP metadata found (or why it joined nothing)."""

    path: str | None
    performer_column: str | None = None
    link_column: str | None = None
    rows: int = 0
    linked_rows: int = 0
    matched_recordings: int = 0
    unmatched_links: int = 0
    conflicting_recordings: list[str] = []
    note: str = ""


def build_piece_map(
    recordings: pl.DataFrame, performers: pl.DataFrame | None = None
) -> pl.DataFrame:
    """One row per recording: piece, work, scope, recital, performance, performer if known.

    `performers` (optional) has columns `recording_id`, `performer_name` (from ATEPP).
    """
    pairs = list(zip(recordings["canonical_composer"], recordings["canonical_title"], strict=True))
    keys = [piece_key(c, t) for c, t in pairs]
    names = recordings["audio_filename"]
    works = resolve_works(recordings).rename(
        {"composer": "work_composer", "families": "work_families", "error": "maestro_error",
         "reason": "resolution_reason"}
    )  # fmt: skip
    frame = (
        recordings.select(
            "recording_id",
            "canonical_composer",
            "canonical_title",
            "split",
            "year",
            "duration",
            "audio_filename",
        )
        .with_columns(
            pl.Series("piece_key", keys, dtype=pl.String()),
            pl.Series("piece_id", [piece_id(k) for k in keys], dtype=pl.String()),
            pl.Series(
                "catalogue_ids", [catalogue_ids(c, t) for c, t in pairs], pl.List(pl.String())
            ),
            pl.Series("session_id", [session_key(n) for n in names], dtype=pl.String()),
            pl.Series("recital_id", [recital_key(n) for n in names], dtype=pl.String()),
            pl.Series("_order", [natural_order(n) for n in names], dtype=pl.String()),
        )
        .join(works, on=["canonical_composer", "canonical_title"], how="left")
    )
    # Unresolved titles keep their piece as the group, so they never join another title.
    group = pl.coalesce("work_id", pl.col("piece_id"))
    frame = frame.with_columns(
        (pl.col("recital_id") + "/" + group).alias("performance_id")
    ).with_columns(
        (pl.col("_order").rank("ordinal").over("performance_id") - 1)
        .cast(pl.Int64)
        .alias("part_index"),
        pl.len().over("performance_id").cast(pl.Int64).alias("performance_parts"),
        pl.col("duration").sum().over("performance_id").alias("performance_seconds"),
    )
    frame = _performance_scopes(frame)
    if performers is not None and performers.height:
        frame = frame.join(
            performers.select("recording_id", "performer_name"), on="recording_id", how="left"
        )
    else:
        frame = frame.with_columns(pl.lit(None, dtype=pl.String()).alias("performer_name"))
    frame = frame.with_columns(
        pl.when(pl.col("performer_name").is_not_null())
        .then(pl.lit(PERFORMER_SOURCE_ATEPP))
        .otherwise(pl.lit(PERFORMER_SOURCE_NONE))
        .alias("performer_source"),
        pl.col("performance_id")
        .n_unique()
        .over("piece_id")
        .cast(pl.Int64)
        .alias("piece_performances"),
        pl.len().over("piece_id").cast(pl.Int64).alias("piece_recordings"),
        pl.col("split").n_unique().over("piece_id").cast(pl.Int64).alias("piece_splits"),
        pl.col("recital_id").n_unique().over(group).cast(pl.Int64).alias("work_performers"),
        # Same work + same year, other recitals: other contestants (assumption B).
        (pl.col("recital_id").n_unique().over(group, "year") - 1)
        .cast(pl.Int64)
        .alias("same_year_other_contestants"),
    )
    return frame.drop("_order").sort("piece_key", "year", "recital_id", "part_index")


def join_scopes(scopes: list[str]) -> str:
    """The scope of a performance from its files' title scopes."""
    kinds = {scope_numbers(s)[0] for s in scopes}
    if len(set(scopes)) == 1:
        return scopes[0]
    if len(kinds) == 1 and kinds <= {"movements", "numbers"}:
        (kind,) = kinds
        joined = {n for s in scopes for n in scope_numbers(s)[1]}
        return f"{kind}:{format_numbers(joined)}"
    return EXCERPT


def _performance_scopes(frame: pl.DataFrame) -> pl.DataFrame:
    """`scope` per performance (joined, then checked against durations) and `scope_note`."""
    performances = frame.group_by("performance_id").agg(
        pl.col("work_id").first(),
        pl.col("title_scope"),
        pl.col("performance_seconds").first(),
    )
    scopes: dict[str, str] = {}
    notes: dict[str, str] = {}
    for perf_id, work_id, title_scopes, _ in performances.iter_rows():
        scopes[perf_id] = join_scopes(sorted(set(title_scopes))) if work_id else UNRESOLVED
        if work_id and scopes[perf_id] == EXCERPT and len(set(title_scopes)) > 1:
            notes[perf_id] = f"files claim different scopes {sorted(set(title_scopes))}"
    # Durations: a performance far off the median of its work at that scope is not that scope.
    by_group: dict[tuple[str, str], list[tuple[str, float]]] = {}
    for perf_id, work_id, _, seconds in performances.iter_rows():
        if work_id and scopes[perf_id] not in (EXCERPT, UNRESOLVED):
            by_group.setdefault((work_id, scopes[perf_id]), []).append((perf_id, seconds))
    for (_, scope), members in by_group.items():
        if len(members) < 2:
            continue
        median = statistics.median(seconds for _, seconds in members)
        for perf_id, seconds in members:
            if not median / DURATION_RATIO <= seconds <= median * DURATION_RATIO:
                scopes[perf_id] = EXCERPT
                notes[perf_id] = (
                    f"claims {scope} but lasts {seconds:.0f} s against a median of {median:.0f} s"
                    f" for that scope: taken as an excerpt"
                )
    return frame.with_columns(
        pl.col("performance_id").replace_strict(scopes, return_dtype=pl.String()).alias("scope"),
        pl.col("performance_id")
        .replace_strict(notes, default="", return_dtype=pl.String())
        .alias("scope_note"),
    )


def positive_eligible(scope: str) -> bool:
    """Scopes whose music is known: complete, given movements or numbers."""
    return scope == COMPLETE or scope.startswith(("movements:", "numbers:"))


def piece_stats(piece_map: pl.DataFrame) -> PieceStats:
    raw = piece_map.group_by("canonical_composer", "canonical_title").agg(
        pl.len().alias("len"), pl.col("session_id").n_unique().alias("performances")
    )
    raw_multi = raw.filter(pl.col("performances") >= 2)
    normalized = piece_map.group_by("piece_id").agg(
        pl.len().alias("recordings"),
        pl.col("performance_id").n_unique().alias("performances"),
        pl.col("canonical_title").n_unique().alias("raw_titles"),
        pl.col("split").n_unique().alias("splits"),
        pl.col("work_id").n_unique().alias("works"),
    )
    multi = normalized.filter(pl.col("performances") >= 2)
    parts = piece_map.group_by("performance_id").len().filter(pl.col("len") >= 2)
    resolved = piece_map.filter(pl.col("work_id").is_not_null())
    works = resolved.group_by("work_id").agg(
        pl.col("recital_id").n_unique().alias("performers"),
        pl.len().alias("recordings"),
        pl.col("piece_id").n_unique().alias("pieces"),
        pl.col("split").n_unique().alias("splits"),
    )
    performers = works.filter(pl.col("performers") >= 2)
    titles = piece_map.unique(["canonical_composer", "canonical_title"])
    leaks = split_leakage(piece_map)
    return PieceStats(
        recordings=piece_map.height,
        hours=round(float(piece_map["duration"].sum()) / 3600, 3),
        raw_pieces=raw.height,
        raw_multi_recording_pieces=raw.filter(pl.col("len") >= 2).height,
        raw_multi_performance_pieces=raw_multi.height,
        raw_recordings_in_multi_performance_pieces=int(raw_multi["len"].sum()),
        pieces=normalized.height,
        multi_recording_pieces=normalized.filter(pl.col("recordings") >= 2).height,
        performances=piece_map["performance_id"].n_unique(),
        multi_part_performances=parts.height,
        recordings_in_multi_part_performances=int(parts["len"].sum()),
        multi_performance_pieces=multi.height,
        recordings_in_multi_performance_pieces=int(multi["recordings"].sum()),
        pieces_merged_by_normalization=normalized.filter(pl.col("raw_titles") >= 2).height,
        multi_performance_pieces_spanning_splits=multi.filter(pl.col("splits") >= 2).height,
        recordings_with_performer_names=int(piece_map["performer_name"].is_not_null().sum()),
        recitals=piece_map["recital_id"].n_unique(),
        works=works.height,
        works_with_2_plus_performers=performers.height,
        recordings_in_works_with_2_plus_performers=int(performers["recordings"].sum()),
        titles_resolved_by_rule=titles.filter(pl.col("resolution") == "rule").height,
        titles_resolved_by_override=titles.filter(pl.col("resolution") == "override").height,
        titles_unresolved=titles.filter(pl.col("resolution") == UNRESOLVED).height,
        recordings_unresolved=piece_map.filter(pl.col("resolution") == UNRESOLVED).height,
        pieces_split_across_works=normalized.filter(pl.col("works") >= 2).height,
        works_merging_2_plus_pieces=works.filter(pl.col("pieces") >= 2).height,
        performances_demoted_by_duration=piece_map.filter(
            pl.col("scope_note").str.contains("median")
        )["performance_id"].n_unique(),
        works_in_2_plus_splits=leaks.works_in_2_plus_splits,
        performances_across_splits=leaks.performances_across_splits,
        recitals_across_splits=leaks.recitals_across_splits,
    )


class SplitLeakage(BaseModel):
    """MAESTRO's own leakage between train/validation/test, as the work identity shows it."""

    works_in_2_plus_splits: int
    recordings_in_works_in_2_plus_splits: int
    performances_across_splits: int
    recitals_across_splits: int
    examples: list[str]


def split_leakage(piece_map: pl.DataFrame, shown: int = 10) -> SplitLeakage:
    works = (
        piece_map.filter(pl.col("work_id").is_not_null())
        .group_by("work_id")
        .agg(pl.col("split").unique().sort(), pl.len().alias("recordings"))
        .filter(pl.col("split").list.len() >= 2)
        .sort("recordings", "work_id", descending=[True, False])
    )
    performances = piece_map.group_by("performance_id").agg(pl.col("split").n_unique())
    recitals = piece_map.group_by("recital_id").agg(pl.col("split").n_unique())
    return SplitLeakage(
        works_in_2_plus_splits=works.height,
        recordings_in_works_in_2_plus_splits=int(works["recordings"].sum()),
        performances_across_splits=performances.filter(pl.col("split") >= 2).height,
        recitals_across_splits=recitals.filter(pl.col("split") >= 2).height,
        examples=[
            f"{work} ({recordings} recordings): {', '.join(splits)}"
            for work, splits, recordings in works.head(shown).iter_rows()
        ],
    )


def normalization_report(piece_map: pl.DataFrame) -> pl.DataFrame:
    """Normalized groups that merged two or more raw titles: the rule's effect, for people."""
    return (
        piece_map.group_by("piece_id", "piece_key")
        .agg(
            pl.col("canonical_title").unique().sort().alias("raw_titles"),
            pl.col("performance_id").n_unique().alias("performances"),
            pl.len().alias("recordings"),
            pl.col("split").unique().sort().alias("splits"),
        )
        .filter(pl.col("raw_titles").list.len() >= 2)
        .sort("performances", "piece_key", descending=[True, False])
    )


def multi_performance_groups(piece_map: pl.DataFrame) -> pl.DataFrame:
    """Normalized pieces with two or more performances (recitals collapsed)."""
    return (
        piece_map.group_by("piece_id", "piece_key")
        .agg(
            pl.col("performance_id").n_unique().alias("performances"),
            pl.len().alias("recordings"),
            pl.col("canonical_title").n_unique().alias("raw_titles"),
            pl.col("year").unique().sort().alias("years"),
            pl.col("split").unique().sort().alias("splits"),
        )
        .filter(pl.col("performances") >= 2)
        .sort("performances", "piece_key", descending=[True, False])
    )


def works_report(piece_map: pl.DataFrame) -> pl.DataFrame:
    """One row per work: recordings, performers (recitals), titles, scopes, splits."""
    return (
        piece_map.filter(pl.col("work_id").is_not_null())
        .group_by("work_id")
        .agg(
            pl.col("work_composer").first(),
            pl.len().alias("recordings"),
            pl.col("recital_id").n_unique().alias("performers"),
            pl.col("canonical_title").unique().sort().alias("raw_titles"),
            pl.col("scope").unique().sort().alias("scopes"),
            pl.col("resolution").unique().sort().alias("resolutions"),
            pl.col("split").unique().sort().alias("splits"),
        )
        .sort("recordings", "work_id", descending=[True, False])
    )


def unresolved_titles(piece_map: pl.DataFrame) -> pl.DataFrame:
    """Titles no rule or reviewed override resolves, with the reason (listed, never guessed)."""
    return (
        piece_map.filter(pl.col("resolution") == UNRESOLVED)
        .group_by("canonical_composer", "canonical_title")
        .agg(pl.len().alias("recordings"), pl.col("resolution_reason").first())
        .sort("canonical_composer", "canonical_title")
    )


# -- ATEPP ---------------------------------------------------------------------------------

_PERFORMER_COLUMNS = ("performer", "performer_name", "pianist", "artist", "artist_name")


def find_atepp_metadata(atepp_cache: Path) -> list[Path]:
    """CSV files in `atepp_cache/` (top level and one folder down), newest name last."""
    if not atepp_cache.is_dir():
        return []
    found = [*atepp_cache.glob("*.csv"), *atepp_cache.glob("*/*.csv")]
    return sorted(p for p in found if p.is_file() and not p.name.startswith(".tmp-"))


def _link_to_recording_key(value: str) -> str | None:
    """A MAESTRO link (audio/MIDI path or file name, or a recording key) → recording key."""
    text = value.strip().replace("\\", "/")
    if not text:
        return None
    path = PurePosixPath(text)
    if path.suffix.lower() in (".wav", ".midi", ".mid", ".flac", ".mp3"):
        # MAESTRO audio and MIDI share "<year>/<stem>": keep the last two parts.
        parts = path.with_suffix("").parts[-2:]
        try:
            return recording_key("/".join(parts) + ".wav")
        except MaestroMetadataError:
            return None
    try:
        return validate_key(text.lower())
    except UnsafeNameError:
        return None


def read_atepp_performers(
    paths: list[Path], recording_ids: set[str]
) -> tuple[pl.DataFrame | None, AteppJoin]:
    """Performer names for MAESTRO recordings from ATEPP metadata, joined defensively.

    Needs a performer column (performer/pianist/artist) and a column whose name mentions
    MAESTRO holding its audio or MIDI file name. A recording linked to two different names is
    left unnamed and reported; links to unknown recordings are counted, never guessed.
    """
    if not paths:
        return None, AteppJoin(path=None, note="no ATEPP metadata in atepp_cache/")
    notes: list[str] = []
    for path in paths:
        try:
            table = pl.read_csv(path, infer_schema=False)
        except (pl.exceptions.PolarsError, OSError) as err:
            notes.append(f"{path.name}: unreadable ({err})")
            continue
        lower = {c.lower().strip(): c for c in table.columns}
        performer_col = next((lower[c] for c in _PERFORMER_COLUMNS if c in lower), None)
        link_col = next((c for low, c in lower.items() if "maestro" in low), None)
        if performer_col is None or link_col is None:
            notes.append(
                f"{path.name}: no "
                + ("performer column" if performer_col is None else "MAESTRO link column")
            )
            continue
        return _join_atepp(table, path, performer_col, link_col, recording_ids)
    return None, AteppJoin(path=str(paths[0]), note="; ".join(notes))


def _join_atepp(
    table: pl.DataFrame, path: Path, performer_col: str, link_col: str, recording_ids: set[str]
) -> tuple[pl.DataFrame | None, AteppJoin]:
    linked = table.select(
        pl.col(link_col).alias("link"), pl.col(performer_col).str.strip_chars().alias("name")
    ).filter(
        pl.col("link").is_not_null()
        & (pl.col("link").str.strip_chars() != "")
        & pl.col("name").is_not_null()
        & (pl.col("name") != "")
    )
    keys = [_link_to_recording_key(link) for link in linked["link"]]
    linked = linked.with_columns(pl.Series("recording_id", keys, dtype=pl.String()))
    known = linked.filter(pl.col("recording_id").is_in(list(recording_ids)))
    per_recording = known.group_by("recording_id").agg(pl.col("name").unique().sort())
    conflicts = per_recording.filter(pl.col("name").list.len() > 1)
    performers = per_recording.filter(pl.col("name").list.len() == 1).select(
        "recording_id", pl.col("name").list.first().alias("performer_name")
    )
    report = AteppJoin(
        path=str(path),
        performer_column=performer_col,
        link_column=link_col,
        rows=table.height,
        linked_rows=linked.height,
        matched_recordings=performers.height,
        unmatched_links=linked.height - known.height,
        conflicting_recordings=sorted(conflicts["recording_id"].to_list()),
        note=(
            f"{conflicts.height} recordings linked to different performers were left unnamed"
            if conflicts.height
            else ""
        ),
    )
    return performers.sort("recording_id"), report
