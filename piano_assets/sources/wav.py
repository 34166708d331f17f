"""A strict WAV header check: tells a finished file from one a crash cut short."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

_PCM = 0x0001
_IEEE_FLOAT = 0x0003
_EXTENSIBLE = 0xFFFE
_KNOWN_FORMATS = frozenset({_PCM, _IEEE_FLOAT, _EXTENSIBLE})
_MAX_CHUNKS = 64


class InvalidWavError(ValueError):
    """The file is not a complete RIFF/WAVE file."""


@dataclass(frozen=True)
class WavHeader:
    sample_rate: int
    channels: int
    bits_per_sample: int
    format_tag: int
    frames: int

    @property
    def seconds(self) -> float:
        return self.frames / self.sample_rate


_Fmt = tuple[int, int, int, int, int, int]  # format tag, channels, rate, byte rate, align, bits


def _fmt_and_data(path: Path) -> tuple[_Fmt | None, int, int]:
    """The fmt chunk's fields, and the data chunk's offset and declared size."""
    with open(path, "rb") as handle:
        riff = handle.read(12)
        if len(riff) < 12 or riff[:4] != b"RIFF" or riff[8:12] != b"WAVE":
            raise InvalidWavError(f"{path}: not a RIFF/WAVE file")
        fmt: _Fmt | None = None
        for _ in range(_MAX_CHUNKS):
            chunk_header = handle.read(8)
            if len(chunk_header) < 8:
                break
            chunk_id, chunk_size = struct.unpack("<4sI", chunk_header)
            if chunk_id == b"fmt ":
                body = handle.read(chunk_size)
                if len(body) < 16:
                    raise InvalidWavError(f"{path}: truncated fmt chunk")
                fmt = struct.unpack("<HHIIHH", body[:16])
                if chunk_size % 2:
                    handle.seek(1, 1)
                continue
            if chunk_id == b"data":
                return fmt, handle.tell(), chunk_size
            handle.seek(chunk_size + chunk_size % 2, 1)
    raise InvalidWavError(f"{path}: no data chunk")


def read_wav_header(path: Path) -> WavHeader:
    """Parse the header of `path` and check that the data chunk fits in the file.

    ffmpeg writes placeholder sizes first and fixes them when it finishes, so a file cut
    short by a crash fails here (empty or overlong data chunk).
    """
    fmt, data_offset, data_size = _fmt_and_data(path)
    return _header_from(path, fmt, data_offset, data_size, path.stat().st_size)


def declared_wav_seconds(path: Path) -> float:
    """The duration a WAV header declares (its data chunk size), even when the file holds less
    (a truncated download): the number to compare with what actually decodes."""
    fmt, _offset, data_size = _fmt_and_data(path)
    if fmt is None or fmt[3] <= 0:
        raise InvalidWavError(f"{path}: data chunk before any usable fmt chunk")
    return data_size / fmt[3]


def _header_from(
    path: Path,
    fmt: _Fmt | None,
    data_offset: int,
    data_size: int,
    file_size: int,
) -> WavHeader:
    if fmt is None:
        raise InvalidWavError(f"{path}: data chunk before any fmt chunk")
    format_tag, channels, rate, _byte_rate, block_align, bits = fmt
    if format_tag not in _KNOWN_FORMATS or channels < 1 or rate < 1 or block_align < 1:
        raise InvalidWavError(
            f"{path}: unsupported format (tag {format_tag:#x}, {channels} ch, {rate} Hz)"
        )
    if data_size == 0 or data_offset + data_size > file_size:
        raise InvalidWavError(
            f"{path}: incomplete (data chunk says {data_size} bytes, "
            f"{file_size - data_offset} present)"
        )
    return WavHeader(
        sample_rate=rate,
        channels=channels,
        bits_per_sample=bits,
        format_tag=format_tag,
        frames=data_size // block_align,
    )


def is_complete_wav(
    path: Path, *, sample_rate: int | None = None, channels: int | None = None
) -> bool:
    """True if `path` is a complete WAV with the given rate and channel count (when given)."""
    try:
        header = read_wav_header(path)
    except (OSError, InvalidWavError):
        return False
    if sample_rate is not None and header.sample_rate != sample_rate:
        return False
    return channels is None or header.channels == channels
