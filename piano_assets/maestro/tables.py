"""Parquet tables written atomically, with key-value metadata, validated against their models."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from pydantic import BaseModel

from piano_assets.engine.files import atomic_path, sha256_file


def validate_rows(frame: pl.DataFrame, model: type[BaseModel], where: str) -> None:
    """Every row must be a valid `model`; the error names the table, the row and the field."""
    for number, row in enumerate(frame.iter_rows(named=True)):
        try:
            model.model_validate(row)
        except ValueError as err:
            raise ValueError(
                f"{where}: row {number} is not a valid {model.__name__}: {err}"
            ) from err
    missing = set(model.model_fields) - set(frame.columns)
    if missing:
        raise ValueError(f"{where}: columns {sorted(missing)} missing")


def write_parquet(frame: pl.DataFrame, target: Path, metadata: dict[str, str]) -> str:
    """Write `frame` to `target` atomically (temp file, then rename); return its SHA-256."""
    with atomic_path(target) as tmp:
        frame.write_parquet(tmp, metadata=metadata, statistics=True)
    return sha256_file(target)


def read_parquet_metadata(path: Path) -> dict[str, str]:
    return {k: v for k, v in pl.read_parquet_metadata(path).items() if not k.startswith("ARROW:")}
