"""Decode any common audio through ffmpeg to 24 kHz mono float32, streaming. Dagster-free."""

from __future__ import annotations

import subprocess
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from piano_assets.engine.ffmpeg import ffmpeg_exe
from piano_assets.engine.files import atomic_path, sha256_file

SAMPLE_RATE = 24_000
# Peak amplitude under which a whole recording counts as silent (about -70 dBFS).
SILENCE_PEAK = 3e-4


class AudioError(Exception):
    """Bad audio input; the message names the file and the cause."""


class AudioDecodeError(AudioError):
    pass


class EmptyAudioError(AudioError):
    pass


class SilentAudioError(AudioError):
    pass


class TooShortAudioError(AudioError):
    pass


class AudioTooLongError(AudioError):
    pass


@dataclass(frozen=True)
class AudioInfo:
    path: Path
    duration_s: float
    sample_rate: int
    sha256: str


def _ffmpeg_decode_command(path: Path, sample_rate: int) -> list[str]:
    return [
        ffmpeg_exe(),
        "-nostdin",
        "-v",
        "error",
        "-i",
        str(path),
        "-vn",
        "-ac",
        "1",
        "-ar",
        str(sample_rate),
        "-f",
        "f32le",
        "-",
    ]


def stream_audio(
    path: Path, sample_rate: int = SAMPLE_RATE, block_seconds: float = 30.0
) -> Iterator[np.ndarray]:
    """Yield mono float32 blocks of `block_seconds` (the last may be shorter).

    Memory stays bounded by one block, whatever the recording's length.
    """
    path = Path(path)
    if not path.exists():
        raise AudioDecodeError(f"{path}: file not found")
    if path.stat().st_size == 0:
        raise EmptyAudioError(f"{path}: file is empty (0 bytes)")
    block_bytes = max(1, int(block_seconds * sample_rate)) * 4
    process = subprocess.Popen(
        _ffmpeg_decode_command(path, sample_rate),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None  # noqa: S101 - Popen with PIPE always sets it
    total = 0
    try:
        while True:
            data = process.stdout.read(block_bytes)
            if not data:
                break
            usable = len(data) - len(data) % 4
            total += usable
            yield np.frombuffer(data[:usable], dtype="<f4").copy()
    finally:
        process.stdout.close()
        stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
        code = process.wait()
    if code != 0:
        cause = stderr.strip().splitlines()[-1] if stderr.strip() else f"ffmpeg exit {code}"
        raise AudioDecodeError(f"{path}: cannot decode audio: {cause}")
    if total == 0:
        raise EmptyAudioError(f"{path}: no audio samples (empty or not an audio file)")


def decode_audio(path: Path, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Whole recording in memory: for short clips only (use `stream_audio` otherwise)."""
    blocks = list(stream_audio(path, sample_rate))
    return np.concatenate(blocks) if blocks else np.zeros(0, dtype=np.float32)


def probe_wav(path: Path) -> AudioInfo:
    """Read a converted WAV's header cheaply; raise AudioError if it is not a finished WAV."""
    path = Path(path)
    try:
        with wave.open(str(path), "rb") as handle:
            frames, rate = handle.getnframes(), handle.getframerate()
    except (wave.Error, EOFError, OSError) as err:
        raise AudioDecodeError(f"{path}: not a readable WAV file: {err}") from err
    return AudioInfo(path, frames / rate if rate else 0.0, rate, sha256_file(path))


def convert_to_wav(
    src: Path,
    dst: Path,
    sample_rate: int = SAMPLE_RATE,
    max_seconds: float | None = None,
    min_seconds: float = 1.0,
) -> AudioInfo:
    """Convert any input to a 16-bit mono WAV at `sample_rate`, atomically, and validate it.

    Rejects corrupt, empty, silent, too short (< `min_seconds`) and too long
    (> `max_seconds`) input with an error naming `src`; nothing is left at `dst` then.
    """
    src = Path(src)
    peak = 0.0
    seconds = 0.0
    # Validate from the decoded stream first, so a bad input never reaches dst.
    for block in stream_audio(src, sample_rate, block_seconds=60.0):
        seconds += len(block) / sample_rate
        if block.size:
            peak = max(peak, float(np.max(np.abs(block))))
        if max_seconds is not None and seconds > max_seconds:
            raise AudioTooLongError(
                f"{src}: longer than the limit of {max_seconds:.0f} s; raise the limit if intended"
            )
    if seconds < min_seconds:
        raise TooShortAudioError(f"{src}: only {seconds:.2f} s of audio (< {min_seconds} s)")
    if peak < SILENCE_PEAK:
        raise SilentAudioError(f"{src}: the recording is silent (peak {peak:.2e})")
    with atomic_path(Path(dst)) as tmp:
        command = [
            ffmpeg_exe(), "-nostdin", "-v", "error", "-y", "-i", str(src), "-vn",
            "-ac", "1", "-ar", str(sample_rate), "-c:a", "pcm_s16le", "-f", "wav", str(tmp),
        ]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise AudioDecodeError(f"{src}: conversion to WAV failed: {result.stderr.strip()}")
    return probe_wav(Path(dst))
