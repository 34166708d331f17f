"""MAESTRO metadata: CSV and column-oriented JSON, validation, stable recording keys."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from piano_assets.engine.files import validate_key
from piano_assets.maestro.metadata import (
    MAESTRO_COLUMNS,
    MaestroMetadataError,
    find_metadata_file,
    parse_maestro_metadata,
    read_maestro_metadata,
    recording_key,
)
from piano_assets_tests.maestro_helpers import REAL_CSV, needs_real_csv

_HEADER = ",".join(MAESTRO_COLUMNS)


def _csv(*rows: str) -> bytes:
    return ("\n".join([_HEADER, *rows]) + "\n").encode()


_ROW_A = 'Frédéric Chopin,"Berceuse, Op. 57",validation,2015,2015/a.midi,2015/Rec_A--1.wav,273.5'
_ROW_B = "Frédéric Chopin,Berceuse Op. 57,validation,2008,2008/b.midi,2008/Rec_B_wav--4.wav,261.3"


def test_recording_key_is_stable_safe_and_keeps_the_year() -> None:
    name = "2004/MIDI-Unprocessed_XP_21_R1_2004_01_ORIG_MID--AUDIO_21_R1_2004_01_Track01_wav.wav"
    key = recording_key(name)
    assert key == "2004-midi-unprocessed_xp_21_r1_2004_01_orig_mid--audio_21_r1_2004_01_track01_wav"
    assert recording_key(name) == key
    assert recording_key("2004/Odd Name (1).wav") == "2004-odd_name_1_"


def test_long_names_are_shortened_without_collisions() -> None:
    first = recording_key("2018/" + "x" * 200 + "1.wav")
    second = recording_key("2018/" + "x" * 200 + "2.wav")
    assert len(first) <= 128 and len(second) <= 128
    assert first != second
    validate_key(first)


@pytest.mark.parametrize("bad", ["/abs/x.wav", "../x.wav", "2004/../../x.wav"])
def test_recording_key_refuses_paths_that_escape(bad: str) -> None:
    with pytest.raises(MaestroMetadataError, match="relative"):
        recording_key(bad)


def test_csv_and_column_json_give_the_same_table() -> None:
    from_csv = parse_maestro_metadata(_csv(_ROW_A, _ROW_B), "m.csv")
    document = {
        column: {str(i): value for i, value in enumerate(from_csv[column].to_list())}
        for column in MAESTRO_COLUMNS
    }
    from_json = parse_maestro_metadata(json.dumps(document).encode(), "m.json")
    assert from_json.equals(from_csv)
    assert from_csv["recording_id"].to_list() == ["2015-rec_a--1", "2008-rec_b_wav--4"]
    assert from_csv.schema["year"] == pl.Int64 and from_csv.schema["duration"] == pl.Float64


def test_json_rows_are_ordered_numerically() -> None:
    rows = [_ROW_A.replace("Rec_A", f"Rec_{i}") for i in range(12)]
    frame = parse_maestro_metadata(_csv(*rows), "m.csv")
    document = {
        column: {str(i): value for i, value in enumerate(frame[column].to_list())}
        for column in MAESTRO_COLUMNS
    }
    shuffled = {c: dict(sorted(v.items())) for c, v in document.items()}  # "10" before "2"
    assert parse_maestro_metadata(json.dumps(shuffled).encode(), "m.json").equals(frame)


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (_csv(_ROW_A.replace("validation", "dev")), "m.csv", "split 'dev'"),
        (_csv(_ROW_A.replace("273.5", "-1")), "m.csv", "duration -1.0 is not positive"),
        (_csv(_ROW_A.replace("273.5", "long")), "m.csv", "not numeric"),
        (_csv(_ROW_A, _ROW_A), "m.csv", "audio_filename repeated"),
        (_csv(_ROW_A.replace(".wav", ".flac")), "m.csv", "not a .wav"),
        (b"canonical_composer,split\nX,train\n", "m.csv", "missing columns"),
        (b'{"audio_filename": {"0": "a.wav"}, "split": {"1": "train"}}', "m.json", "rows"),
        (b"[1, 2]", "m.json", "column-oriented"),
        (b"a,b", "m.parquet", "expected a .csv or .json"),
    ],
)
def test_bad_metadata_fails_naming_the_file(data: bytes, name: str, message: str) -> None:
    with pytest.raises(MaestroMetadataError, match=message) as info:
        parse_maestro_metadata(data, name, source=f"/cache/{name}")
    assert f"/cache/{name}" in str(info.value)


def test_case_only_differences_that_collide_are_refused() -> None:
    other = _ROW_A.replace("Rec_A--1", "REC_A--1")
    with pytest.raises(MaestroMetadataError, match="same recording key"):
        parse_maestro_metadata(_csv(_ROW_A, other), "m.csv")


def test_metadata_file_is_found_in_the_cache_or_the_extracted_folder(tmp_path: Path) -> None:
    with pytest.raises(MaestroMetadataError, match="no MAESTRO v3 metadata"):
        find_metadata_file(tmp_path)
    nested = tmp_path / "maestro-v3.0.0" / "maestro-v3.0.0.json"
    nested.parent.mkdir()
    nested.write_text("{}")
    assert find_metadata_file(tmp_path) == nested
    top = tmp_path / "maestro-v3.0.0.csv"
    top.write_bytes(_csv(_ROW_A))
    assert find_metadata_file(tmp_path) == top


@needs_real_csv
def test_real_csv_reads_with_one_safe_unique_key_per_recording() -> None:
    frame = read_maestro_metadata(REAL_CSV)
    raw = pl.read_csv(REAL_CSV)
    assert frame.height == raw.height
    assert frame["recording_id"].n_unique() == frame.height
    for key in frame["recording_id"]:
        validate_key(key)
    assert set(frame["split"]) <= {"train", "validation", "test"}
    assert frame["duration"].sum() == pytest.approx(raw["duration"].sum())
