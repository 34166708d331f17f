"""Read 24 kHz mono PCM WAV directly, without an ffmpeg process. Dagster-free.

The audio steps of every tier write 16-bit mono WAV at 24 kHz: the model's own format. For such
a file, decoding is a copy and a scale (`int16 / 32768`, exactly what ffmpeg's s16 → float
conversion computes), so the engine reads the data chunk in blocks and skips the ffmpeg process
per file. Anything else (another rate, stereo, 24-bit, RF64, a streamed header without sizes)
is not recognised here and goes through ffmpeg as before.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from io import BufferedReader
from pathlib import Path

import numpy as np

_PCM = 0x0001
_IEEE_FLOAT = 0x0003
_EXTENSIBLE = 0xFFFE
# WAVE_FORMAT_EXTENSIBLE subformat GUIDs: the format tag as 4 bytes, then this fixed tail.
_SUBFORMAT_TAIL = bytes.fromhex("00001000800000aa00389b71")
_UNKNOWN_SIZE = 0xFFFFFFFF
_MAX_CHUNKS = 64
# (format tag, bits per sample) → numpy dtype of one sample, and the scale to [-1, 1].
_SAMPLE_TYPES: dict[tuple[int, int], tuple[str, float]] = {
    (_PCM, 16): ("<i2", 1.0 / 32768.0),
    (_IEEE_FLOAT, 32): ("<f4", 1.0),
}


class TruncatedWavError(ValueError):
    """The header promises more samples than the file holds."""


@dataclass(frozen=True)
class PcmWav:
    """Where the samples of a directly readable mono WAV lie in the file."""

    path: Path
    sample_rate: int
    sample_dtype: str  # numpy dtype of one stored sample
    scale: float
    data_offset: int
    frames: int

    @property
    def sample_bytes(self) -> int:
        return np.dtype(self.sample_dtype).itemsize

    def read(self, start: int, stop: int) -> np.ndarray:
        """Samples `start:stop` as float32 in [-1, 1] (clipped to the file's length)."""
        start, stop = max(0, start), min(stop, self.frames)
        if stop <= start:
            return np.zeros(0, dtype=np.float32)
        with open(self.path, "rb") as handle:
            return self._read(handle, start, stop)

    def _read(self, handle: BufferedReader, start: int, stop: int) -> np.ndarray:
        count = stop - start
        raw = np.empty(count, dtype=self.sample_dtype)
        handle.seek(self.data_offset + start * self.sample_bytes)
        got = handle.readinto(raw.data.cast("B"))  # no GIL held while reading
        if got != raw.nbytes:
            raise TruncatedWavError(
                f"{self.path}: truncated WAV (the file ended {count - got // self.sample_bytes} "
                "samples before its header's length)"
            )
        if self.scale == 1.0:
            return raw.astype(np.float32, copy=False)
        # float32(int16) times a power of two is exact: the same numbers ffmpeg gives.
        out = raw.astype(np.float32)
        out *= np.float32(self.scale)
        return out

    def blocks(self, block_samples: int) -> Iterator[np.ndarray]:
        """Consecutive blocks of `block_samples` (the last may be shorter), one file handle."""
        block_samples = max(1, block_samples)
        with open(self.path, "rb") as handle:
            for start in range(0, self.frames, block_samples):
                yield self._read(handle, start, min(start + block_samples, self.frames))

    def windows(self, spans: list[tuple[int, int]]) -> Iterator[np.ndarray]:
        """The sample spans `(start, stop)` in order, one file handle."""
        with open(self.path, "rb") as handle:
            for start, stop in spans:
                yield self._read(handle, start, stop)


def _format_of(body: bytes) -> tuple[int, int, int, int]:
    """(format tag, channels, sample rate, bits per sample); EXTENSIBLE unwrapped."""
    tag, channels, rate, _byte_rate, _align, bits = struct.unpack("<HHIIHH", body[:16])
    if tag == _EXTENSIBLE:
        if len(body) < 40:
            return -1, channels, rate, bits
        valid_bits = struct.unpack("<H", body[18:20])[0]
        subformat = body[24:40]
        if subformat[4:] != _SUBFORMAT_TAIL or subformat[2:4] != b"\x00\x00":
            return -1, channels, rate, bits
        if valid_bits not in (0, bits):
            return -1, channels, rate, bits
        tag = struct.unpack("<H", subformat[:2])[0]
    return tag, channels, rate, bits


def open_pcm_wav(path: Path, sample_rate: int) -> PcmWav | None:
    """The layout of `path` if it is a mono WAV at `sample_rate` this module reads, else None.

    None means "let ffmpeg decode it" (any other format, or a header this reader does not
    trust). Raises `TruncatedWavError` when the data chunk promises more than the file holds.
    """
    path = Path(path)
    try:
        file_size = path.stat().st_size
        with open(path, "rb") as handle:
            riff = handle.read(12)
            if len(riff) < 12 or riff[:4] != b"RIFF" or riff[8:12] != b"WAVE":
                return None
            fmt: tuple[int, int, int, int] | None = None
            for _ in range(_MAX_CHUNKS):
                header = handle.read(8)
                if len(header) < 8:
                    return None
                chunk_id, size = struct.unpack("<4sI", header)
                if chunk_id == b"fmt ":
                    body = handle.read(size)
                    if len(body) < 16 or fmt is not None:
                        return None
                    fmt = _format_of(body)
                    handle.seek(size % 2, 1)
                elif chunk_id == b"data":
                    return _layout(path, fmt, handle.tell(), size, file_size, sample_rate)
                else:
                    handle.seek(size + size % 2, 1)
    except OSError:
        return None  # ffmpeg will report the cause in its own words
    return None


def _layout(
    path: Path,
    fmt: tuple[int, int, int, int] | None,
    data_offset: int,
    data_size: int,
    file_size: int,
    sample_rate: int,
) -> PcmWav | None:
    if fmt is None:
        return None
    tag, channels, rate, bits = fmt
    sample_type = _SAMPLE_TYPES.get((tag, bits))
    if sample_type is None or channels != 1 or rate != sample_rate:
        return None
    if data_size in (0, _UNKNOWN_SIZE):
        return None  # a header written before the size was known: ffmpeg copes with it
    dtype, scale = sample_type
    item = np.dtype(dtype).itemsize
    present = file_size - data_offset
    if data_size > present:
        raise TruncatedWavError(
            f"{path}: truncated WAV (header promises {data_size // item / rate:.2f} s, "
            f"the file holds {max(present, 0) // item / rate:.2f} s)"
        )
    return PcmWav(path, rate, dtype, scale, data_offset, data_size // item)
