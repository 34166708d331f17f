"""Pydantic records as JSON lines: one record a line, written atomically, read back validated.
Dagster-free; every tier's catalogs, ledgers and metadata files go through here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel

from piano_assets.engine.files import atomic_open

RecordT = TypeVar("RecordT", bound=BaseModel)


class JsonlError(ValueError):
    """A JSON-lines file does not hold valid records; the message names the file and line."""


def numbered_lines(path: Path) -> Iterator[tuple[int, str]]:
    """The non-blank lines of `path` with their 1-based line numbers (for error messages)."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            yield number, line


def write_jsonl(path: Path, rows: Iterable[RecordT]) -> int:
    """Write one JSON object per line, atomically; return the number of lines."""
    count = 0
    with atomic_open(path) as handle:
        for row in rows:
            handle.write(row.model_dump_json() + "\n")
            count += 1
    return count


def read_jsonl(
    path: Path,
    model: type[RecordT],
    *,
    missing_ok: bool = False,
    what: str | None = None,
    error: Callable[[str], Exception] = JsonlError,
) -> list[RecordT]:
    """Every non-blank line of `path` validated as `model`.

    A missing file gives [] when `missing_ok`, else `error`. A line that is not a valid record
    raises `error` naming the file, the line and `what` a line should be (default
    "a valid <model>").
    """
    if not path.exists():
        if missing_ok:
            return []
        raise error(f"{path} does not exist")
    expected = what or f"a valid {model.__name__}"
    rows: list[RecordT] = []
    for number, line in numbered_lines(path):
        try:
            rows.append(model.model_validate(json.loads(line)))
        except ValueError as err:
            raise error(f"{path}:{number}: not {expected}: {err}") from err
    return rows
