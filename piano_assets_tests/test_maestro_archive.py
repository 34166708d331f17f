"""MAESTRO sources: the zip read in place, corrupt members, SHA-256 checks, folders, download."""

from __future__ import annotations

import functools
import hashlib
import http.server
import os
import struct
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from piano_assets.maestro import archive
from piano_assets.maestro.archive import (
    FolderAudioSource,
    MaestroArchiveError,
    ZipAudioSource,
    default_source_path,
    download_zip,
    open_audio_source,
    read_wav_format,
    verification_stamp,
    verify_zip_sha256,
)
from piano_assets.sample.synth import piano_notes, wav_bytes
from piano_assets.sources.errors import ChecksumMismatchError

AUDIO_NAME = "2004/MIDI-Unprocessed_XP_21_R1_2004_01_Track01_wav.wav"


def _wav(seconds: float = 1.5, rate: int = 44_100, seed: int = 1) -> bytes:
    return wav_bytes(piano_notes(seconds, rate, seed), rate, channels=2)


def _make_zip(path: Path, members: dict[str, bytes], compression: int) -> Path:
    with zipfile.ZipFile(path, "w", compression=compression) as handle:
        for name, data in members.items():
            handle.writestr(name, data)
    return path


def _corrupt_member(path: Path, member: str) -> None:
    """Flip bytes in the middle of `member`'s stored data, leaving the zip directory intact."""
    with zipfile.ZipFile(path) as handle:
        info = handle.getinfo(member)
    with open(path, "r+b") as raw:
        raw.seek(info.header_offset)
        header = raw.read(30)
        name_len, extra_len = struct.unpack("<HH", header[26:30])
        start = info.header_offset + 30 + name_len + extra_len + info.compress_size // 2
        raw.seek(start)
        chunk = bytearray(raw.read(64))
        raw.seek(start)
        raw.write(bytes(b ^ 0x5A for b in chunk))


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_zip_member_is_read_in_place(tmp_path: Path, compression: int) -> None:
    data = _wav()
    zip_path = _make_zip(
        tmp_path / "maestro-v3.0.0.zip",
        {
            f"maestro-v3.0.0/{AUDIO_NAME}": data,
            "maestro-v3.0.0/maestro-v3.0.0.csv": b"canonical_composer\n",
        },
        compression,
    )
    source = open_audio_source(zip_path)
    assert isinstance(source, ZipAudioSource)
    assert source.member_name(AUDIO_NAME) == f"maestro-v3.0.0/{AUDIO_NAME}"
    out = tmp_path / "work" / "x.wav"
    fetched = source.copy_member(AUDIO_NAME, out)
    assert out.read_bytes() == data
    assert fetched.member == f"maestro-v3.0.0/{AUDIO_NAME}"
    assert fetched.bytes == len(data)
    assert fetched.wav_format is not None
    assert (fetched.wav_format.sample_rate, fetched.wav_format.channels) == (44_100, 2)
    assert fetched.wav_format.seconds == pytest.approx(1.5, abs=1e-3)
    # Nothing was extracted beside the zip; only the one member we asked for was written.
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == [
        "maestro-v3.0.0.zip",
        "x.wav",
    ]
    assert source.read_metadata() == (
        "maestro-v3.0.0/maestro-v3.0.0.csv",
        b"canonical_composer\n",
    )


def test_zip_without_top_folder_and_missing_members(tmp_path: Path) -> None:
    zip_path = _make_zip(tmp_path / "m.zip", {AUDIO_NAME: _wav(0.5)}, zipfile.ZIP_STORED)
    source = ZipAudioSource(zip_path)
    assert source.member_name(AUDIO_NAME) == AUDIO_NAME
    with pytest.raises(MaestroArchiveError, match=r"no member for 2004/absent\.wav"):
        source.member_name("2004/absent.wav")
    assert source.read_metadata() is None


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_corrupt_member_fails_naming_the_member(tmp_path: Path, compression: int) -> None:
    good = "maestro-v3.0.0/2004/good.wav"
    bad = f"maestro-v3.0.0/{AUDIO_NAME}"
    zip_path = _make_zip(
        tmp_path / "m.zip", {good: _wav(1.0, seed=2), bad: _wav(1.0, seed=3)}, compression
    )
    _corrupt_member(zip_path, bad)
    source = ZipAudioSource(zip_path)
    out = tmp_path / "out.wav"
    with pytest.raises(MaestroArchiveError) as info:
        source.copy_member(AUDIO_NAME, out)
    assert bad in str(info.value)
    assert "corrupt" in str(info.value)
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]
    # The other member of the same zip still reads.
    source.copy_member("2004/good.wav", tmp_path / "good.wav")


def test_a_file_that_is_not_a_zip_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "maestro-v3.0.0.zip"
    path.write_bytes(b"PK\x03\x04 truncated download")
    with pytest.raises(MaestroArchiveError, match="not a readable zip"):
        ZipAudioSource(path)
    with pytest.raises(MaestroArchiveError, match="does not exist"):
        open_audio_source(tmp_path / "nowhere")


def test_sha256_verification_and_its_stamp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "maestro-v3.0.0.zip"
    path.write_bytes(b"zip bytes")
    expected = hashlib.sha256(b"zip bytes").hexdigest()
    stamp = tmp_path / "state" / "verified.json"
    with pytest.raises(MaestroArchiveError, match="does not match the expected") as info:
        verify_zip_sha256(path, "0" * 64, stamp)
    assert str(path) in str(info.value)
    assert not stamp.exists()
    assert verify_zip_sha256(path, expected.upper(), stamp) == expected
    assert stamp.exists()

    def no_hashing(_: Path) -> str:
        raise AssertionError("hashed again")

    monkeypatch.setattr(archive, "sha256_file", no_hashing)
    assert verify_zip_sha256(path, expected, stamp) == expected  # stamp matches: no rehash
    os.utime(path, ns=(1, 1))  # the file changed (mtime): hash again
    with pytest.raises(AssertionError, match="hashed again"):
        verify_zip_sha256(path, expected, stamp)


def test_published_sha256_is_well_formed() -> None:
    assert len(archive.ZIP_SHA256) == 64
    int(archive.ZIP_SHA256, 16)


def test_extracted_folder_is_read_in_place(tmp_path: Path) -> None:
    data = _wav(0.5, rate=48_000)
    target = tmp_path / "maestro-v3.0.0" / AUDIO_NAME
    target.parent.mkdir(parents=True)
    target.write_bytes(data)
    for given in (tmp_path, tmp_path / "maestro-v3.0.0"):
        source = open_audio_source(given)
        assert isinstance(source, FolderAudioSource)
        fetched = source.copy_member(AUDIO_NAME, tmp_path / "unused.wav")
        assert fetched.path == target
        assert fetched.wav_format is not None and fetched.wav_format.sample_rate == 48_000
    assert not (tmp_path / "unused.wav").exists()
    with pytest.raises(MaestroArchiveError, match="no file"):
        source.member_name("2004/absent.wav")
    with pytest.raises(ValueError, match="escapes"):
        source.member_name("../../etc/passwd")


def test_default_source_prefers_the_extracted_folder(tmp_path: Path) -> None:
    assert default_source_path(tmp_path) is None
    (tmp_path / "maestro-v3.0.0.zip").write_bytes(b"")
    assert default_source_path(tmp_path) == tmp_path / "maestro-v3.0.0.zip"
    (tmp_path / "maestro-v3.0.0").mkdir()
    (tmp_path / "maestro-v3.0.0" / "maestro-v3.0.0.csv").write_text("")
    assert default_source_path(tmp_path) == tmp_path / "maestro-v3.0.0.zip"  # no audio folders
    (tmp_path / "maestro-v3.0.0" / "2004").mkdir()
    assert default_source_path(tmp_path) == tmp_path / "maestro-v3.0.0"


def test_wav_header_parser_reads_extensible_format(tmp_path: Path) -> None:
    # WAVE_FORMAT_EXTENSIBLE (0xFFFE), which the stdlib `wave` module refuses.
    fmt = struct.pack("<HHIIHH", 0xFFFE, 2, 48_000, 48_000 * 4, 4, 16) + struct.pack(
        "<HHI16s", 22, 16, 3, b"\x01\x00\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
    )
    data = b"\0" * (48_000 * 4)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"LIST" + struct.pack("<I", 3) + b"abc\0"  # odd-sized chunk, padded
    body += b"data" + struct.pack("<I", len(data)) + data
    path = tmp_path / "ext.wav"
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    wav = read_wav_format(path)
    assert wav is not None
    assert (wav.sample_rate, wav.channels, wav.bits_per_sample) == (48_000, 2, 16)
    assert wav.seconds == pytest.approx(1.0)
    (tmp_path / "no.wav").write_bytes(b"ID3 not a wav")
    assert read_wav_format(tmp_path / "no.wav") is None


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "served"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", root
    finally:
        server.shutdown()
        server.server_close()


def test_download_checks_the_checksum_and_happens_once(
    tmp_path: Path, served: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    base_url, root = served
    data = _wav(0.3)
    (root / "maestro-v3.0.0.zip").write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    dest = tmp_path / "cache" / "maestro-v3.0.0.zip"
    locks = tmp_path / "locks"

    with pytest.raises(ChecksumMismatchError):
        download_zip(f"{base_url}/maestro-v3.0.0.zip", dest, "0" * 64, locks)
    assert not dest.exists()

    seen: list[int] = []
    url = f"{base_url}/maestro-v3.0.0.zip"
    assert download_zip(url, dest, digest, locks, progress=lambda d, _: seen.append(d)) == dest
    assert dest.read_bytes() == data
    assert seen and seen[-1] == len(data)
    # The download's checksum check counts as a verification: no second 101 GB hash.
    monkeypatch.setattr(archive, "sha256_file", lambda _: "hashed again")
    assert verify_zip_sha256(dest, digest, verification_stamp(locks, dest)) == digest
    (root / "maestro-v3.0.0.zip").unlink()  # a second call does not download again
    assert download_zip(f"{base_url}/maestro-v3.0.0.zip", dest, digest, locks) == dest
