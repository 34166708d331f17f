"""Append-only jsonl ledgers of pydantic records, safe against crashes. Dagster-free.

An append is one write followed by fsync. A crash (even kill -9) can at worst leave a torn
last line: readers skip a line that is not complete JSON (and say so), and the next append
starts on a fresh line. A line that is complete JSON but not a valid record is an error.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from piano_assets.lib.jsonl import numbered_lines

T = TypeVar("T")

_log = logging.getLogger(__name__)


class LedgerError(ValueError):
    """A ledger line holds JSON that is not a valid record."""


def append_records(path: Path, records: Iterable[BaseModel]) -> None:
    lines = "".join(record.model_dump_json() + "\n" for record in records)
    if not lines:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as handle:
        handle.seek(0, os.SEEK_END)
        if handle.tell() > 0:
            handle.seek(-1, os.SEEK_END)
            if handle.read(1) != b"\n":
                lines = "\n" + lines  # close a line torn by a crash
        handle.seek(0, os.SEEK_END)
        handle.write(lines.encode("utf-8"))
        handle.flush()
        os.fsync(handle.fileno())


def read_records(path: Path, adapter: TypeAdapter[T]) -> list[T]:
    if not path.exists():
        return []
    records: list[T] = []
    for number, line in numbered_lines(path):
        try:
            payload = json.loads(line)
        except json.JSONDecodeError:
            _log.warning("%s line %d: torn by a crash (incomplete JSON), skipped", path, number)
            continue
        try:
            records.append(adapter.validate_python(payload))
        except ValidationError as err:
            raise LedgerError(f"{path} line {number}: not a valid record: {err}") from err
    return records
