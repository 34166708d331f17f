"""The embedded MAESTRO sample: real rows, matching durations, deterministic bytes, both shapes."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import polars as pl
import pytest

from piano_assets.maestro.archive import FolderAudioSource, ZipAudioSource, read_wav_format
from piano_assets.maestro.metadata import read_maestro_metadata
from piano_assets.maestro.pieces import build_piece_map, piece_stats
from piano_assets.sample.maestro_sample import (
    SAMPLE_RECORDINGS,
    build_maestro_sample,
    sample_metadata,
)
from piano_assets_tests.maestro_helpers import REAL_CSV


def _digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def sample(maestro_sample_cache: Path) -> Path:
    return maestro_sample_cache


def test_sample_is_small_and_non_trivial(sample: Path) -> None:
    frame = read_maestro_metadata(sample / "maestro-v3.0.0.csv")
    assert 4 <= frame.height <= 8
    assert frame["split"].n_unique() >= 2
    assert all(35 <= d <= 70 for d in frame["duration"])
    stats = piece_stats(build_piece_map(frame))
    # A piece whose raw titles differ only in punctuation, merged by normalization, per split.
    assert stats.raw_multi_performance_pieces == 0
    assert stats.multi_performance_pieces >= 2
    assert stats.performances == frame.height  # no recording of the sample is a part
    multi = build_piece_map(frame).filter(pl.col("piece_performances") >= 2)
    assert multi["split"].n_unique() >= 2
    for _, group in multi.group_by("piece_id"):
        titles = group["canonical_title"].unique().to_list()
        assert len(titles) >= 2
        stripped = {"".join(ch for ch in t if ch.isalnum()) for t in titles}
        assert len(stripped) == 1  # only punctuation/spacing differs


def test_csv_json_zip_and_folder_agree_with_the_synthesized_audio(sample: Path) -> None:
    from_csv = read_maestro_metadata(sample / "maestro-v3.0.0.csv")
    from_json = read_maestro_metadata(sample / "maestro-v3.0.0.json")
    assert from_json.equals(from_csv)
    zipped = ZipAudioSource(sample / "maestro-v3.0.0.zip")
    folder = FolderAudioSource(sample / "maestro-v3.0.0")
    assert zipped.read_metadata()[1] == (sample / "maestro-v3.0.0.csv").read_bytes()
    with zipfile.ZipFile(sample / "maestro-v3.0.0.zip") as handle:
        assert {i.date_time for i in handle.infolist()} == {(2021, 1, 1, 0, 0, 0)}
        for row in from_csv.iter_rows(named=True):
            member = zipped.member_name(row["audio_filename"])
            in_folder = Path(folder.member_name(row["audio_filename"]))
            assert handle.read(member) == in_folder.read_bytes()
            wav = read_wav_format(in_folder)
            assert wav is not None
            assert wav.channels == 2 and wav.sample_rate in (44_100, 48_000)
            assert wav.seconds == pytest.approx(row["duration"], abs=0.01)


def test_sample_bytes_are_deterministic(sample: Path, tmp_path: Path) -> None:
    again = tmp_path / "maestro_cache"
    build_maestro_sample(again, REAL_CSV if REAL_CSV.is_file() else None)
    assert _digests(again) == _digests(sample)
    assert "CC BY-NC-SA 4.0" in (again / "README-MAESTRO-SAMPLE.md").read_text()


@pytest.mark.skipif(not REAL_CSV.is_file(), reason=f"real MAESTRO CSV not at {REAL_CSV}")
def test_embedded_rows_are_real_maestro_rows() -> None:
    real = read_maestro_metadata(REAL_CSV)
    embedded = sample_metadata(None)
    columns = [c for c in embedded.columns if c != "duration"]
    matched = embedded.join(real, on="audio_filename", how="inner", suffix="_real")
    assert matched.height == len(SAMPLE_RECORDINGS)
    for column in columns:
        if column != "audio_filename":
            assert matched[column].to_list() == matched[f"{column}_real"].to_list(), column
    # The synthesized recordings are shorter than the real ones; the sample says so.
    assert (matched["duration"] < matched["duration_real"]).all()
