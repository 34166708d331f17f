"""`piano-assets maestro-map METADATA OUT`, and the map and pair checks on tables written from
metadata alone (no audio)."""

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


def test_unresolved_titles_fail_the_titles_check_as_a_warning(tmp_path: Path) -> None:
    import dagster as dg

    from piano_assets.layout import ModelRepoLayout
    from piano_assets.maestro.checks import maestro_titles_resolved
    from piano_assets.maestro.outputs import map_from_metadata
    from piano_assets.maestro.paths import MaestroPaths
    from piano_assets.maestro.tables import write_parquet
    from piano_assets.resources import ModelRepoResource

    rows = sample_metadata()
    metadata = tmp_path / "maestro.csv"
    rows.with_columns(
        pl.when(pl.col("canonical_title") == "Berceuse Op. 57")
        .then(pl.lit("Nocturne in Db"))
        .otherwise(pl.col("canonical_title"))
        .alias("canonical_title")
    ).write_csv(metadata)
    layout = ModelRepoLayout(tmp_path / "repo")
    paths = MaestroPaths(layout)
    write_parquet(map_from_metadata(metadata), paths.piece_map_table, {})
    result = maestro_titles_resolved(
        model_repo=ModelRepoResource(root=str(layout.root), dry_run=False)
    )
    assert not result.passed
    assert result.severity == dg.AssetCheckSeverity.WARN
    assert result.description.startswith("1 of 6 titles unresolved (1 recordings")
    assert "Nocturne in Db" in str(result.metadata["unresolved"].value)


def test_the_pair_checks_fail_on_wrong_pairs(tmp_path: Path) -> None:
    from piano_assets.engine import SegmentPolicy
    from piano_assets.engine.files import sha256_file
    from piano_assets.layout import ModelRepoLayout
    from piano_assets.maestro import records
    from piano_assets.maestro.checks import (
        maestro_no_negative_within_work,
        maestro_no_positive_across_scopes,
        maestro_pairs_respect_splits,
    )
    from piano_assets.maestro.coverage import planned_segments
    from piano_assets.maestro.metadata import read_maestro_metadata
    from piano_assets.maestro.outputs import map_from_metadata
    from piano_assets.maestro.pairs import NEGATIVE, POSITIVE, PairPolicy, build_pairs, pair_stats
    from piano_assets.maestro.paths import MaestroPaths
    from piano_assets.maestro.pieces import split_leakage
    from piano_assets.maestro.tables import write_parquet
    from piano_assets.resources import ModelRepoResource

    metadata = tmp_path / "maestro.csv"
    sample_metadata().write_csv(metadata)
    layout = ModelRepoLayout(tmp_path / "repo")
    paths = MaestroPaths(layout)
    piece_map = map_from_metadata(metadata)
    write_parquet(piece_map, paths.piece_map_table, {})
    segments = planned_segments(read_maestro_metadata(metadata), SegmentPolicy(30.0, 5.0))
    policy = PairPolicy(allow_cross_split=False)
    pairs = build_pairs(segments, piece_map, PairPolicy(allow_cross_split=True))
    assert (pairs["anchor_split"] != pairs["other_split"]).any()
    wrong = pairs.with_columns(  # swap the labels: positives become negatives within a work
        pl.when(pl.col("label") == POSITIVE)
        .then(pl.lit(NEGATIVE))
        .otherwise(pl.lit(POSITIVE))
        .alias("label")
    )
    digest = write_parquet(wrong, paths.pairs_table, {})
    manifest = records.PairsManifest(
        table=paths.relative(paths.pairs_table),
        table_sha256=digest,
        piece_map=paths.relative(paths.piece_map_table),
        piece_map_sha256=sha256_file(paths.piece_map_table),
        leakage=split_leakage(piece_map),
        policy=policy,
        stats=pair_stats(wrong, policy),
        segments_available=segments.height,
        recordings_covered=piece_map.height,
        embedder=None,
    )
    paths.pairs_manifest.write_text(manifest.model_dump_json())
    repo = ModelRepoResource(root=str(layout.root), dry_run=False)
    negatives = maestro_no_negative_within_work(model_repo=repo)
    positives = maestro_no_positive_across_scopes(model_repo=repo)
    splits = maestro_pairs_respect_splits(model_repo=repo)
    assert not negatives.passed and "join related works" in negatives.description
    assert not positives.passed and "not one work at one scope" in positives.description
    assert not splits.passed and "cross splits" in splits.description
