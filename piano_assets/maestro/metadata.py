"""MAESTRO v3 metadata: read the CSV or the column-oriented JSON, validate, key each recording.

Dagster-free. One row per recording; `recording_id` is derived from `audio_filename` only, so it
is stable across runs, machines and the CSV/JSON choice.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from pathlib import Path, PurePosixPath

import polars as pl

from piano_assets.engine.files import UnsafeNameError, validate_key

CSV_NAME = "maestro-v3.0.0.csv"
JSON_NAME = "maestro-v3.0.0.json"
DATASET_DIR_NAME = "maestro-v3.0.0"  # the zip's top folder, and the extracted folder's name
SPLITS: tuple[str, ...] = ("train", "validation", "test")
MAESTRO_COLUMNS: dict[str, pl.DataType] = {
    "canonical_composer": pl.String(),
    "canonical_title": pl.String(),
    "split": pl.String(),
    "year": pl.Int64(),
    "midi_filename": pl.String(),
    "audio_filename": pl.String(),
    "duration": pl.Float64(),
}
_MAX_KEY = 128
_UNSAFE_CHARS = re.compile(r"[^a-z0-9._-]+")


class MaestroMetadataError(ValueError):
    """The metadata file is missing, malformed, or names recordings inconsistently."""


def recording_key(audio_filename: str) -> str:
    """Stable, filesystem-safe partition key of a recording, from its `audio_filename`.

    `2004/MIDI-Unprocessed_XP_21_R1_2004_01_ORIG_MID--AUDIO_21_R1_2004_01_Track01_wav.wav`
    → `2004-midi-unprocessed_xp_21_r1_2004_01_orig_mid--audio_21_r1_2004_01_track01_wav`:
    the year folder and the stem, lower-cased, other characters replaced by `_`. Keys longer
    than 128 characters keep a prefix and a hash of the full name, so they stay unique.
    """
    path = PurePosixPath(audio_filename.strip())
    if path.is_absolute() or ".." in path.parts or not path.name:
        raise MaestroMetadataError(f"audio_filename {audio_filename!r} is not a relative path")
    parts = [*path.parent.parts, path.stem] if path.parent != PurePosixPath(".") else [path.stem]
    key = _UNSAFE_CHARS.sub("_", "-".join(parts).lower())
    key = re.sub(r"\.{2,}", ".", key).lstrip("._-")
    if len(key) > _MAX_KEY:
        digest = hashlib.sha1(audio_filename.encode(), usedforsecurity=False).hexdigest()[:12]
        key = f"{key[: _MAX_KEY - 13]}-{digest}"
    try:
        return validate_key(key)
    except UnsafeNameError as err:
        raise MaestroMetadataError(f"audio_filename {audio_filename!r}: {err}") from err


def find_metadata_file(maestro_cache: Path) -> Path:
    """The v3 metadata in `maestro_cache/` (CSV preferred, then JSON; top level or extracted)."""
    candidates = [
        maestro_cache / CSV_NAME,
        maestro_cache / JSON_NAME,
        maestro_cache / DATASET_DIR_NAME / CSV_NAME,
        maestro_cache / DATASET_DIR_NAME / JSON_NAME,
    ]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise MaestroMetadataError(
        f"no MAESTRO v3 metadata in {maestro_cache}: expected one of "
        + ", ".join(str(c.relative_to(maestro_cache)) for c in candidates)
        + " (download maestro-v3.0.0.csv from Magenta's MAESTRO page)"
    )


def read_maestro_metadata(path: Path) -> pl.DataFrame:
    """Read and validate `maestro-v3.0.0.csv` or the column-oriented `maestro-v3.0.0.json`."""
    if not path.is_file():
        raise MaestroMetadataError(f"{path}: MAESTRO metadata file not found")
    return parse_maestro_metadata(path.read_bytes(), path.name, source=str(path))


def parse_maestro_metadata(data: bytes, file_name: str, source: str = "") -> pl.DataFrame:
    """Parse metadata bytes (`.csv` or `.json` by `file_name`); `source` names it in errors."""
    where = source or file_name
    suffix = PurePosixPath(file_name).suffix.lower()
    if suffix == ".csv":
        try:
            frame = pl.read_csv(io.BytesIO(data), infer_schema=False)
        except pl.exceptions.PolarsError as err:
            raise MaestroMetadataError(f"{where}: not a readable CSV: {err}") from err
    elif suffix == ".json":
        frame = _frame_from_column_json(data, where)
    else:
        raise MaestroMetadataError(f"{where}: expected a .csv or .json MAESTRO metadata file")
    return validate_maestro_frame(frame, where)


def _frame_from_column_json(data: bytes, where: str) -> pl.DataFrame:
    """The v3 JSON is column-oriented: {column: {row_index: value}}."""
    try:
        document = json.loads(data)
    except ValueError as err:
        raise MaestroMetadataError(f"{where}: not valid JSON: {err}") from err
    if not isinstance(document, dict) or not all(isinstance(v, dict) for v in document.values()):
        raise MaestroMetadataError(
            f"{where}: expected the column-oriented v3 layout {{column: {{row: value}}}}"
        )
    indexes = {column: set(values) for column, values in document.items()}
    reference = indexes.get("audio_filename")
    if reference is None:
        raise MaestroMetadataError(f"{where}: no 'audio_filename' column")
    for column, index in indexes.items():
        if index != reference:
            raise MaestroMetadataError(
                f"{where}: column {column!r} has rows {len(index)} that do not match "
                f"audio_filename's {len(reference)}"
            )
    order = sorted(reference, key=lambda k: (len(k), k))  # "2" before "10"
    return pl.DataFrame(
        {
            column: [None if values[i] is None else str(values[i]) for i in order]
            for column, values in document.items()
        },
        schema=dict.fromkeys(document, pl.String()),
    )


def validate_maestro_frame(frame: pl.DataFrame, where: str) -> pl.DataFrame:
    """Check columns and values; cast types; add `recording_id`. Errors name the row."""
    missing = [c for c in MAESTRO_COLUMNS if c not in frame.columns]
    if missing:
        raise MaestroMetadataError(f"{where}: missing columns {missing}; found {frame.columns}")
    frame = frame.select(list(MAESTRO_COLUMNS))
    try:
        # A Schema, not the dict: polars' annotation of cast() rejects a dict[str, DataType].
        typed = frame.with_columns(
            # Titles stay raw (the piece map reports them as found); file names and splits are
            # identifiers, so stray spaces there are noise.
            pl.col(c).str.strip_chars()
            for c in ("split", "midi_filename", "audio_filename")
        ).cast(pl.Schema(MAESTRO_COLUMNS), strict=True)
    except pl.exceptions.PolarsError as err:
        raise MaestroMetadataError(f"{where}: year or duration is not numeric: {err}") from err

    problems: list[str] = []
    for row_number, row in enumerate(typed.iter_rows(named=True), start=1):
        name = row["audio_filename"] or f"row {row_number}"
        empty = [c for c in MAESTRO_COLUMNS if row[c] in (None, "")]
        if empty:
            problems.append(f"{name}: empty {empty}")
            continue
        if row["split"] not in SPLITS:
            problems.append(f"{name}: split {row['split']!r} is not one of {SPLITS}")
        if not row["duration"] > 0:
            problems.append(f"{name}: duration {row['duration']} is not positive")
        if not row["audio_filename"].lower().endswith(".wav"):
            problems.append(f"{name}: audio_filename is not a .wav file")
    if problems:
        raise MaestroMetadataError(
            f"{where}: {len(problems)} bad rows:\n  " + "\n  ".join(problems)
        )

    duplicated = typed.filter(pl.col("audio_filename").is_duplicated())["audio_filename"]
    if duplicated.len():
        raise MaestroMetadataError(
            f"{where}: audio_filename repeated: {sorted(set(duplicated.to_list()))}"
        )
    keys = [recording_key(name) for name in typed["audio_filename"]]
    keyed = typed.with_columns(pl.Series("recording_id", keys, dtype=pl.String()))
    clashes = keyed.filter(pl.col("recording_id").is_duplicated())
    if clashes.height:
        raise MaestroMetadataError(
            f"{where}: different audio files map to the same recording key: "
            f"{clashes.select('recording_id', 'audio_filename').rows()}"
        )
    return keyed.select("recording_id", *MAESTRO_COLUMNS)


def recording_row(frame: pl.DataFrame, recording_id: str) -> dict[str, object]:
    """The metadata row of one recording, or a clear error naming it."""
    found = frame.filter(pl.col("recording_id") == recording_id)
    if found.height != 1:
        raise MaestroMetadataError(f"recording {recording_id!r} is not in the MAESTRO metadata")
    return found.row(0, named=True)
