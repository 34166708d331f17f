"""`piano-assets maestro-map METADATA OUT`: the piece map from a metadata file alone."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from piano_assets.cli import main
from piano_assets.maestro.records import PieceRow
from piano_assets.maestro.tables import read_parquet_metadata, validate_rows
from piano_assets.sample.maestro_sample import sample_metadata
from piano_assets_tests.maestro_helpers import REAL_CSV, needs_real_csv


def test_the_command_writes_the_map_of_a_metadata_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    metadata = tmp_path / "maestro-v3.0.0.csv"
    sample_metadata().write_csv(metadata)
    out = tmp_path / "out" / "map.parquet"
    assert main(["maestro-map", str(metadata), str(out)]) == 0
    table = pl.read_parquet(out)
    validate_rows(table, PieceRow, str(out))
    assert table.height == 6 and not table["embedded"].any()
    assert set(table["work_id"]) == {
        "mendelssohn:op54",
        "chopin:op57",
        "rimsky-korsakov-rachmaninoff:flight-of-the-bumblebee",
        "liszt:s139no1",
    }
    assert "work_rule" in read_parquet_metadata(out)
    assert "6 recordings" in capsys.readouterr().out
    assert [p.name for p in out.parent.iterdir()] == ["map.parquet"]  # no temporary left
    # Same input, same table: a CI job can diff it.
    again = tmp_path / "again.parquet"
    assert main(["maestro-map", str(metadata), str(again)]) == 0
    assert pl.read_parquet(again).equals(table)


def test_a_bad_metadata_file_fails_with_the_cause(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "maestro.csv"
    bad.write_text("canonical_composer,canonical_title\nX,Y\n")
    out = tmp_path / "map.parquet"
    assert main(["maestro-map", str(bad), str(out)]) == 2
    assert "missing columns" in capsys.readouterr().err
    assert not out.exists()


@needs_real_csv
def test_the_command_on_the_real_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "map.parquet"
    assert main(["maestro-map", str(REAL_CSV), str(out)]) == 0
    table = pl.read_parquet(out)
    assert table.height == 1276
    assert table["recording_id"].n_unique() == 1276
    printed = capsys.readouterr().out
    assert "856 raw titles -> 762 normalized" in printed
    assert f"{table['work_id'].drop_nulls().n_unique()} works" in printed
