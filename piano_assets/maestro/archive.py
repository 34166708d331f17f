"""Where MAESTRO audio comes from: the official zip read in place, or an extracted folder.

Dagster-free. The 101 GB zip is never extracted: one member at a time is streamed to a
temporary file (its CRC checked on the way), converted, and deleted. The zip's published SHA-256
is verified when asked, once per (size, mtime) of the file. With a URL configured, the zip is
downloaded resumably and its checksum checked.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import shutil
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal, Protocol

from piano_assets.engine.files import UnsafeNameError, atomic_path, atomic_write_text, sha256_file
from piano_assets.maestro.metadata import CSV_NAME, DATASET_DIR_NAME, JSON_NAME

ZIP_NAME = "maestro-v3.0.0.zip"
ZIP_URL = "https://storage.googleapis.com/magentadata/datasets/maestro/v3.0.0/maestro-v3.0.0.zip"
# Published on Magenta's MAESTRO page next to the download link (101 GB, 120 GB uncompressed);
# the same value appears in several independent download scripts.
ZIP_SHA256 = "6680fea5be2339ea15091a249fbd70e49551246ddbd5ca50f1b2352c08c95291"
SOURCE_SAMPLE_RATES = (44_100, 48_000)
_COPY_CHUNK = 1 << 20

SourceKind = Literal["zip", "folder"]


class MaestroArchiveError(RuntimeError):
    """A source is missing, corrupt, or does not hold a recording; the message says which."""


@dataclass(frozen=True)
class WavFormat:
    sample_rate: int
    channels: int
    bits_per_sample: int
    seconds: float | None


@dataclass(frozen=True)
class FetchedAudio:
    """One recording's original audio, copied out of its source to a local file."""

    path: Path
    source_kind: SourceKind
    source_path: str
    member: str
    bytes: int
    wav_format: WavFormat | None


class AudioSource(Protocol):
    kind: SourceKind
    path: Path

    def member_name(self, audio_filename: str) -> str: ...

    def copy_member(self, audio_filename: str, dest: Path) -> FetchedAudio: ...

    def read_metadata(self) -> tuple[str, bytes] | None: ...


# -- zip -----------------------------------------------------------------------------------


class ZipAudioSource:
    """The official zip (or one shaped like it), read member by member in place."""

    kind: SourceKind = "zip"

    def __init__(self, path: Path) -> None:
        self.path = path
        if not path.is_file():
            raise MaestroArchiveError(f"MAESTRO zip {path} does not exist")
        try:
            with zipfile.ZipFile(path) as archive:
                infos = archive.infolist()
        except (zipfile.BadZipFile, OSError) as err:
            raise MaestroArchiveError(f"{path} is not a readable zip: {err}") from err
        self._members = {info.filename: info for info in infos if not info.is_dir()}

    def member_name(self, audio_filename: str) -> str:
        """The zip member of `audio_filename` (under `maestro-v3.0.0/` or at the top)."""
        wanted = PurePosixPath(audio_filename).as_posix()
        for candidate in (f"{DATASET_DIR_NAME}/{wanted}", wanted):
            if candidate in self._members:
                return candidate
        suffix = "/" + wanted
        matches = [name for name in self._members if name.endswith(suffix)]
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise MaestroArchiveError(f"{self.path}: {audio_filename} is ambiguous: {matches}")
        raise MaestroArchiveError(f"{self.path}: no member for {audio_filename}")

    def copy_member(self, audio_filename: str, dest: Path) -> FetchedAudio:
        """Stream the member to `dest` (atomically); a corrupt member fails naming it."""
        member = self.member_name(audio_filename)
        info = self._members[member]
        try:
            with (
                zipfile.ZipFile(self.path) as archive,
                archive.open(info) as stream,
                atomic_path(dest) as tmp,
                open(tmp, "wb") as out,
            ):
                # ZipExtFile checks the CRC-32 when the member has been read to the end.
                shutil.copyfileobj(stream, out, _COPY_CHUNK)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as err:
            raise MaestroArchiveError(
                f"{self.path}: member {member} is corrupt or unreadable: {err}"
            ) from err
        size = dest.stat().st_size
        if size != info.file_size:
            dest.unlink(missing_ok=True)
            raise MaestroArchiveError(
                f"{self.path}: member {member} gave {size} bytes, the zip says {info.file_size}"
            )
        return FetchedAudio(dest, "zip", str(self.path), member, size, read_wav_format(dest))

    def read_metadata(self) -> tuple[str, bytes] | None:
        """The metadata CSV (or JSON) inside the zip, if any: (member name, bytes)."""
        for name in (CSV_NAME, JSON_NAME):
            for member in (f"{DATASET_DIR_NAME}/{name}", name):
                if member in self._members:
                    with zipfile.ZipFile(self.path) as archive:
                        return member, archive.read(member)
        return None


# -- extracted folder ------------------------------------------------------------------------


class FolderAudioSource:
    """An extracted MAESTRO folder (`maestro-v3.0.0/` itself, or the folder holding it)."""

    kind: SourceKind = "folder"

    def __init__(self, path: Path) -> None:
        if not path.is_dir():
            raise MaestroArchiveError(f"MAESTRO folder {path} does not exist")
        nested = path / DATASET_DIR_NAME
        self.path = nested if nested.is_dir() else path

    def _file(self, audio_filename: str) -> Path:
        relative = PurePosixPath(audio_filename)
        if relative.is_absolute() or ".." in relative.parts:
            raise UnsafeNameError(f"{audio_filename!r} escapes {self.path}")
        return self.path.joinpath(*relative.parts)

    def member_name(self, audio_filename: str) -> str:
        path = self._file(audio_filename)
        if not path.is_file():
            raise MaestroArchiveError(f"{self.path}: no file {audio_filename}")
        return str(path)

    def copy_member(self, audio_filename: str, dest: Path) -> FetchedAudio:
        """The folder's file is read in place: `dest` is unused, nothing is copied."""
        del dest
        path = Path(self.member_name(audio_filename))
        size = path.stat().st_size
        return FetchedAudio(
            path, "folder", str(self.path), audio_filename, size, read_wav_format(path)
        )

    def read_metadata(self) -> tuple[str, bytes] | None:
        for name in (CSV_NAME, JSON_NAME):
            candidate = self.path / name
            if candidate.is_file():
                return str(candidate), candidate.read_bytes()
        return None


def open_audio_source(path: Path) -> AudioSource:
    """A zip file or an extracted folder, by what `path` is."""
    if path.is_dir():
        return FolderAudioSource(path)
    if path.is_file():
        return ZipAudioSource(path)
    raise MaestroArchiveError(
        f"MAESTRO source {path} does not exist: set PIANO_ASSETS_MAESTRO_SOURCE to the zip or "
        "the extracted folder, or PIANO_ASSETS_MAESTRO_URL to download the zip"
    )


def default_source_path(maestro_cache: Path) -> Path | None:
    """In `maestro_cache/`: the extracted folder if present (cheapest to read), else the zip."""
    folder = maestro_cache / DATASET_DIR_NAME
    if folder.is_dir() and any(child.is_dir() for child in folder.iterdir()):
        return folder
    archive = maestro_cache / ZIP_NAME
    return archive if archive.is_file() else None


# -- integrity and download ------------------------------------------------------------------


def verification_stamp(state_dir: Path, zip_path: Path) -> Path:
    """Where the record of a successful verification of `zip_path` is kept."""
    return state_dir / f"{zip_path.name}.sha256-verified.json"


def _fingerprint(path: Path) -> dict[str, object]:
    stat = path.stat()
    return {"path": str(path), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _write_stamp(path: Path, sha256: str, stamp: Path) -> None:
    atomic_write_text(stamp, json.dumps({**_fingerprint(path), "sha256": sha256}) + "\n")


def verify_zip_sha256(path: Path, expected: str, stamp: Path | None = None) -> str:
    """Hash `path` and compare with `expected`; a matching stamp for (size, mtime) skips it."""
    expected = expected.strip().lower()
    if stamp is not None and stamp.is_file():
        with contextlib.suppress(ValueError, OSError):
            recorded = json.loads(stamp.read_text(encoding="utf-8"))
            if recorded == {**_fingerprint(path), "sha256": expected}:
                return expected
    actual = sha256_file(path)
    if actual != expected:
        raise MaestroArchiveError(
            f"{path}: SHA-256 {actual} does not match the expected {expected}; the file is "
            "corrupt or not the published maestro-v3.0.0.zip (delete it and download again)"
        )
    if stamp is not None:
        _write_stamp(path, actual, stamp)
    return actual


@contextlib.contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    # Several backfill runs may start at once; one downloads, the others wait for it.
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def download_zip(
    url: str,
    dest: Path,
    expected_sha256: str,
    lock_dir: Path,
    progress: Callable[[int, int | None], None] | None = None,
) -> Path:
    """Download the zip to `dest` resumably (once, across concurrent runs) and check it.

    An interrupted download resumes from its `.part` file. The checksum is checked on arrival,
    and a verification stamp (see `verify_zip_sha256`) spares hashing 101 GB again later.
    """
    from piano_assets.sources.web import download_file

    with _exclusive(lock_dir / f"{dest.name}.lock"):
        if not dest.is_file():
            download_file(
                url, dest, expected_sha256=expected_sha256, resume=True, progress=progress
            )
            _write_stamp(dest, expected_sha256.strip().lower(), verification_stamp(lock_dir, dest))
    return dest


# -- WAV headers -----------------------------------------------------------------------------


def read_wav_format(path: Path) -> WavFormat | None:
    """Sample rate, channels and length from a RIFF/WAVE header (None if not a plain WAV).

    Parsed by hand because the stdlib `wave` module rejects WAVE_FORMAT_EXTENSIBLE files.
    """
    with open(path, "rb") as handle:
        header = handle.read(12)
        if len(header) < 12 or header[:4] != b"RIFF" or header[8:12] != b"WAVE":
            return None
        fmt: tuple[int, int, int, int] | None = None  # channels, rate, byte rate, bits
        while chunk := handle.read(8):
            if len(chunk) < 8:
                return None
            chunk_id, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if chunk_id == b"fmt ":
                body = handle.read(size)
                if len(body) < 16:
                    return None
                _, channels, rate, byte_rate, _, bits = struct.unpack("<HHIIHH", body[:16])
                fmt = (channels, rate, byte_rate, bits)
            elif chunk_id == b"data" and fmt is not None:
                channels, rate, byte_rate, bits = fmt
                seconds = size / byte_rate if byte_rate else None
                return WavFormat(rate, channels, bits, seconds)
            else:
                handle.seek(size + (size & 1), 1)
        if fmt is None:
            return None
        return WavFormat(fmt[1], fmt[0], fmt[3], None)
