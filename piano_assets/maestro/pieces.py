"""Pieces and performances of MAESTRO v3: title normalization, piece→performance map, stats.

Dagster-free.

## The normalization rule (`normalize_text`)

MAESTRO's `canonical_title` is "not guaranteed to be standardized" (its own documentation): the
same piece appears as "Variations Serieuses, Op. 54", "Variations Serieuses Op. 54" and
"Variations sérieuses, Op. 54". A piece is `(composer, title)` after folding both with:

1. Unicode NFKD, then drop combining marks: accents go ("sérieuses" → "serieuses",
   "Händel" → "Handel").
2. Case-fold.
3. Punctuation and symbols (.,;:'"“”’«»()-/&! …) become spaces.
4. "opus" → "op"; a catalogue prefix glued to its number is split
   ("Op126" → "op 126", "D935" → "d 935", "No.1" → "no 1"), for op, no, nos, bwv, d, s, k,
   kv, l, m, hob, woo.
5. Whitespace is collapsed.

The rule is deliberately lexical: no fuzzy matching, no spelling correction, no stripping of
keys or movement names. "Variations Seriouses" (a typo) and "First Movement" vs "1st mov." stay
apart. A missed merge only costs a few positive pairs; a false merge would teach the encoder that
two different pieces are the same, which is worse. Negatives are protected from the misses by a
catalogue guard (see `pairs.py`).

## Performances and performer identity

MAESTRO has no performer names, and "one recording = one performance" does not hold either:
MAESTRO cut each source recording (a contestant's recital) into files, and a multi-movement work
is sometimes several files with the same title (Schubert's D960 as four files of one recital).
On the real CSV, 102 recordings are such parts (36 performances). The proxy, stated everywhere
it matters:
* a *session* is the source recording a file was cut from: the audio file name without its part
  suffix (`..._AUDIO_12_R1_2004_08_Track08_wav` → `..._AUDIO_12_R1_2004`, `..._wav--3` → `..._wav`);
  by MAESTRO's naming (recital 12, round 1, 2004) a session is one contestant's recital;
* a *performance* is (session, piece): its files are its parts, in file-name order;
* two performances of a piece in the same competition year come from different contestants
  (repertoire is not repeated within one edition); across years the performer is unknown
  (contestants do return);
* when ATEPP metadata with a MAESTRO link column is present in `atepp_cache/`, its performer
  names are joined (`performer_source = "atepp"`) and decide.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from pathlib import Path, PurePosixPath

import polars as pl
from pydantic import BaseModel

from piano_assets.engine.files import UnsafeNameError, validate_key
from piano_assets.maestro.metadata import MaestroMetadataError, recording_key

NORMALIZATION_RULE = (
    "piece = (composer, title) folded: Unicode NFKD without accents; case-folded; punctuation "
    "to spaces; 'opus' -> 'op'; catalogue prefixes split from numbers (op, no, nos, bwv, d, s, "
    "k, kv, l, m, hob, woo: 'Op.54'/'Op. 54'/'Op54' -> 'op 54'); spaces collapsed. Lexical only: "
    "no fuzzy matching, no spelling correction."
)
PERFORMER_PROXY_RULE = (
    "MAESTRO has no performer names. Session = the source recording a file was cut from (file "
    "name without its part suffix), taken as one contestant's recital; performance = (session, "
    "piece), its files being parts (movements); same piece + same year + different sessions = "
    "different contestants; different years = performer unknown. ATEPP performer names are "
    "joined when its metadata links MAESTRO recordings."
)
PERFORMER_SOURCE_ATEPP = "atepp"
PERFORMER_SOURCE_NONE = "none (MAESTRO has no performer names)"
CATALOGUE_PREFIXES = ("op", "no", "nos", "bwv", "d", "s", "k", "kv", "l", "m", "hob", "woo")

_NON_WORD = re.compile(r"[^\w\s]|_", re.UNICODE)
_OPUS = re.compile(r"\bopus\b")
_GLUED_NUMBER = re.compile(r"\b(" + "|".join(CATALOGUE_PREFIXES) + r")(\d)")
# Catalogue numbers that identify a work within a composer's output (not "no", which is local).
_CATALOGUE_ID = re.compile(r"\b(op|bwv|d|s|k|kv|l|m|hob|woo) (\d+[a-z]?)\b")
_SPACES = re.compile(r"\s+")
# The part suffix MAESTRO appended when it cut a source recording into files.
_PART_SUFFIX = re.compile(r"(--\d+|_\d+_Track\d+_wav|_\d+_WAV)$", re.IGNORECASE)
_DIGITS = re.compile(r"\d+")


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
    """Raw vs normalized grouping of the recordings, as reported in asset metadata.

    `raw_*`: exact (composer, title) as MAESTRO spells it. `*_multi_recording_*`: 2+ recordings
    (MAESTRO's implicit "one recording = one performance"). `*_multi_performance_*`: 2+
    performances, a performance being (session, piece): what positive pairs can use.
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
    """One row per recording: its normalized piece, session, performance and performer if known.

    `performers` (optional) has columns `recording_id`, `performer_name` (from ATEPP).
    """
    pairs = list(zip(recordings["canonical_composer"], recordings["canonical_title"], strict=True))
    keys = [piece_key(c, t) for c, t in pairs]
    frame = recordings.select(
        "recording_id",
        "canonical_composer",
        "canonical_title",
        "split",
        "year",
        "duration",
        "audio_filename",
    ).with_columns(
        pl.Series("piece_key", keys, dtype=pl.String()),
        pl.Series("piece_id", [piece_id(k) for k in keys], dtype=pl.String()),
        pl.Series("catalogue_ids", [catalogue_ids(c, t) for c, t in pairs], pl.List(pl.String())),
        pl.Series(
            "session_id",
            [session_key(name) for name in recordings["audio_filename"]],
            dtype=pl.String(),
        ),
        pl.Series(
            "_order",
            [natural_order(name) for name in recordings["audio_filename"]],
            dtype=pl.String(),
        ),
    )
    frame = frame.with_columns(
        (pl.col("session_id") + "/" + pl.col("piece_id")).alias("performance_id")
    ).with_columns(
        (pl.col("_order").rank("ordinal").over("performance_id") - 1)
        .cast(pl.Int64)
        .alias("part_index"),
        pl.len().over("performance_id").cast(pl.Int64).alias("performance_parts"),
    )
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
        # Same piece + same year, other sessions: distinct contestants (the proxy).
        (pl.col("session_id").n_unique().over("piece_id", "year") - 1)
        .cast(pl.Int64)
        .alias("same_year_other_contestants"),
    )
    return frame.drop("_order").sort("piece_key", "year", "session_id", "part_index")


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
    )
    multi = normalized.filter(pl.col("performances") >= 2)
    parts = piece_map.group_by("performance_id").len().filter(pl.col("len") >= 2)
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
        recordings_with_performer_names=piece_map["performer_name"].is_not_null().sum(),
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
    """Normalized pieces with two or more performances (sessions collapsed)."""
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
