"""The MAESTRO adapter, Dagster-free: where metadata and audio come from, download, and the
factory's conversion of a zip member."""

from __future__ import annotations

import functools
import hashlib
import http.server
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from piano_assets.engine import SegmentPolicy
from piano_assets.engine.files import sha256_file
from piano_assets.layout import ModelRepoLayout
from piano_assets.lib.recording_steps import DurationTolerance, finished_audio, prepare_audio
from piano_assets.maestro import adapter, recordings
from piano_assets.maestro.archive import MaestroArchiveError, read_wav_format
from piano_assets.maestro.metadata import MaestroMetadataError
from piano_assets.maestro.paths import MaestroPaths
from piano_assets.sample.synth import piano_notes, wav_bytes
from piano_assets.sources.errors import ChecksumMismatchError

AUDIO = "2015/MIDI-Unprocessed_R1_D1-9-12_mid--AUDIO-from_mp3_09_R1_2015_wav--4.wav"
CSV = (
    "canonical_composer,canonical_title,split,year,midi_filename,audio_filename,duration\n"
    f'Frédéric Chopin,"Berceuse, Op. 57",validation,2015,{AUDIO[:-4]}.midi,{AUDIO},3.0\n'
).encode()


def _zip(path: Path, rate: int = 48_000) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as handle:
        handle.writestr("maestro-v3.0.0/maestro-v3.0.0.csv", CSV)
        handle.writestr(
            f"maestro-v3.0.0/{AUDIO}", wav_bytes(piano_notes(3.0, rate, 5), rate, channels=2)
        )
    return path


@pytest.fixture
def paths(tmp_path: Path) -> MaestroPaths:
    layout = ModelRepoLayout(tmp_path / "repo")
    layout.maestro_cache.mkdir(parents=True)
    return MaestroPaths(layout)


def test_metadata_comes_from_the_cache_else_from_inside_the_zip(
    paths: MaestroPaths, tmp_path: Path
) -> None:
    with pytest.raises(MaestroMetadataError, match="no MAESTRO v3 metadata"):
        recordings.read_source_metadata(paths, None)
    zip_path = _zip(tmp_path / "maestro-v3.0.0.zip")
    frame, where = recordings.read_source_metadata(paths, zip_path)
    assert where == f"{zip_path}!maestro-v3.0.0/maestro-v3.0.0.csv"
    assert frame["recording_id"].to_list() == [
        "2015-midi-unprocessed_r1_d1-9-12_mid--audio-from_mp3_09_r1_2015_wav--4"
    ]
    # Unconfigured, the zip in maestro_cache/ is looked into as well.
    _zip(paths.cache / "maestro-v3.0.0.zip")
    assert recordings.read_source_metadata(paths, None)[1].endswith(
        "maestro-v3.0.0.zip!maestro-v3.0.0/maestro-v3.0.0.csv"
    )
    (paths.cache / "maestro-v3.0.0.csv").write_bytes(CSV)
    assert recordings.read_source_metadata(paths, zip_path)[1] == str(
        paths.cache / "maestro-v3.0.0.csv"
    )


def test_conversion_to_24k_mono_with_provenance_and_reuse(
    paths: MaestroPaths, tmp_path: Path
) -> None:
    zip_path = _zip(tmp_path / "maestro-v3.0.0.zip", rate=48_000)
    frame, where = recordings.read_source_metadata(paths, zip_path)
    recordings.write_recordings(paths, frame, where)
    rid = frame.row(0, named=True)["recording_id"]
    resolver = adapter.AudioSourceResolver(paths, adapter.SourceSettings(source_path=zip_path))
    source = adapter.MaestroSource(paths, resolver)
    policy, tolerance = SegmentPolicy(min_tail_seconds=2.0), DurationTolerance()

    def convert() -> bool:
        return prepare_audio(source, rid, paths.recordings(), policy, tolerance).reused

    assert convert() is False
    wav = read_wav_format(paths.audio(rid))
    assert wav is not None
    assert (wav.sample_rate, wav.channels) == (24_000, 1)
    assert wav.seconds == pytest.approx(3.0, abs=0.01)
    record = finished_audio(paths.recordings(), rid)
    assert record is not None
    assert (record.details["source_sample_rate"], record.details["source_channels"]) == (48_000, 2)
    assert record.sha256 == sha256_file(paths.audio(rid))
    assert record.source_url == f"{zip_path}!maestro-v3.0.0/{AUDIO}"
    assert record.declared_seconds["MAESTRO metadata"] == 3.0
    assert not any((paths.work_dir / "scratch").iterdir())  # the member copy is gone
    assert convert() is True
    # A WAV replaced behind the record's back is converted again.
    paths.audio(rid).write_bytes(b"RIFF")
    assert convert() is False


def test_missing_source_says_what_to_configure(paths: MaestroPaths) -> None:
    resolver = adapter.AudioSourceResolver(paths, adapter.SourceSettings())
    with pytest.raises(MaestroArchiveError, match="PIANO_ASSETS_MAESTRO_SOURCE"):
        resolver.get()


def test_verification_failure_is_remembered_not_recomputed(
    paths: MaestroPaths, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    zip_path = _zip(tmp_path / "maestro-v3.0.0.zip")
    settings = adapter.SourceSettings(source_path=zip_path, verify_sha256=True)
    resolver = adapter.AudioSourceResolver(paths, settings)  # expects the published SHA-256
    with pytest.raises(MaestroArchiveError, match="does not match"):
        resolver.get()
    monkeypatch.setattr("piano_assets.maestro.archive.sha256_file", lambda _: "not again")
    with pytest.raises(MaestroArchiveError, match="does not match"):
        resolver.get()
    folder = adapter.AudioSourceResolver(
        paths, adapter.SourceSettings(source_path=tmp_path, verify_sha256=True)
    )
    with pytest.raises(MaestroArchiveError, match="applies to the zip only"):
        folder.get()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "served"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", root
    finally:
        server.shutdown()
        server.server_close()


def test_a_configured_url_is_downloaded_checked_and_read(
    paths: MaestroPaths, served: tuple[str, Path]
) -> None:
    base_url, root = served
    zip_path = _zip(root / "maestro-v3.0.0.zip")
    digest = hashlib.sha256(zip_path.read_bytes()).hexdigest()
    messages: list[str] = []
    url = f"{base_url}/maestro-v3.0.0.zip"
    wrong = adapter.AudioSourceResolver(
        paths, adapter.SourceSettings(url=url, expected_sha256="1" * 64), messages.append
    )
    with pytest.raises(ChecksumMismatchError):
        wrong.get()
    assert not (paths.cache / "maestro-v3.0.0.zip").exists()

    resolver = adapter.AudioSourceResolver(
        paths, adapter.SourceSettings(url=url, expected_sha256=digest), messages.append
    )
    source = resolver.get()
    assert source.kind == "zip"
    assert source.path == paths.cache / "maestro-v3.0.0.zip"
    assert any("downloading" in m for m in messages)
    assert any("downloaded" in m for m in messages)


def test_an_unofficial_url_needs_a_checksum(paths: MaestroPaths) -> None:
    resolver = adapter.AudioSourceResolver(
        paths, adapter.SourceSettings(url="http://127.0.0.1:9/mirror/dataset.zip")
    )
    with pytest.raises(MaestroArchiveError, match="maestro_sha256"):
        resolver.get()
