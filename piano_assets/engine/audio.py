"""Decode any common audio through ffmpeg to 24 kHz mono, streaming. Dagster-free.

ffmpeg runs as a child process (argument list, never a shell) and writes raw samples to a
pipe; Python reads fixed-size blocks, so memory stays bounded by one block whatever the
recording's length. A file that already is mono PCM WAV at the requested rate (what the audio
steps write) is read directly instead, with the same samples (`pcm_wav`). Every failure is an
`AudioError` whose message names the file and the cause.
"""

from __future__ import annotations

import subprocess
import tempfile
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np

from piano_assets.engine.ffmpeg import ffmpeg_exe
from piano_assets.engine.files import atomic_path, sha256_file
from piano_assets.engine.pcm_wav import PcmWav, TruncatedWavError, open_pcm_wav

SAMPLE_RATE = 24_000
# Peak amplitude under which a whole recording counts as silent (about -70 dBFS). The one rule
# for every path: the converter and the engine both apply it through `require_sound`.
SILENCE_PEAK = 3e-4
# ffmpeg's last words are enough to name the cause; a corrupt file can make it print megabytes.
_STDERR_TAIL_BYTES = 4096


class AudioError(Exception):
    """Bad audio input; the message names the file and the cause."""


class AudioDecodeError(AudioError):
    """Missing, corrupt or undecodable input."""


class EmptyAudioError(AudioError):
    """A 0-byte file, or a valid container with no audio samples."""


class SilentAudioError(AudioError):
    """Decodes, but holds nothing above the silence threshold."""


class TooShortAudioError(AudioError):
    """Shorter than the minimum the caller asked for."""


class AudioTooLongError(AudioError):
    """Longer than the limit the caller set (decoding stops early)."""


@dataclass(frozen=True)
class AudioInfo:
    path: Path
    duration_s: float
    sample_rate: int
    sha256: str


def require_sound(path: Path, peak: float, seconds: float) -> None:
    """Raise `SilentAudioError` naming `path` when `peak` (of samples in [-1, 1]) is silence."""
    if peak < SILENCE_PEAK:
        raise SilentAudioError(
            f"{path}: the recording is silent (peak {peak:.1e} over {seconds:.1f} s, "
            f"under the silence threshold {SILENCE_PEAK:.0e})"
        )


def _decode_command(path: Path, sample_rate: int, sample_format: str) -> list[str]:
    return [
        ffmpeg_exe(),
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        # `file:` keeps a name holding ':' (or starting with '-') from being read as a protocol.
        "-i",
        f"file:{path}",
        "-vn",
        "-ac",
        "1",
        "-ar",
        str(sample_rate),
        "-f",
        sample_format,
        "pipe:1",
    ]


def _stderr_tail(handle: IO[bytes]) -> str:
    handle.seek(0, 2)
    size = handle.tell()
    handle.seek(max(0, size - _STDERR_TAIL_BYTES))
    lines = handle.read().decode(errors="replace").strip().splitlines()
    return lines[-1].strip() if lines else ""


def _check_input(path: Path) -> None:
    if not path.exists():
        raise AudioDecodeError(f"{path}: file not found")
    if not path.is_file():
        raise AudioDecodeError(f"{path}: not a regular file")
    if path.stat().st_size == 0:
        raise EmptyAudioError(f"{path}: file is empty (0 bytes)")


def _pcm_blocks(
    path: Path, sample_rate: int, block_samples: int, sample_format: str, sample_bytes: int
) -> Iterator[bytes]:
    """Raw little-endian sample blocks of `block_samples` (the last may be shorter)."""
    path = Path(path)
    _check_input(path)
    block_bytes = max(1, block_samples) * sample_bytes
    with tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(
            _decode_command(path, sample_rate, sample_format),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr,  # a file, not a pipe: a chatty ffmpeg can never block on it
        )
        assert process.stdout is not None  # noqa: S101 - Popen with PIPE always sets it
        total = 0
        finished = False
        try:
            while data := process.stdout.read(block_bytes):
                usable = len(data) - len(data) % sample_bytes
                total += usable
                if usable:
                    yield data[:usable]
            finished = True
        finally:
            process.stdout.close()
            if not finished and process.poll() is None:
                process.kill()  # the consumer stopped early (an error, a length limit)
            code = process.wait()
        if code != 0:
            cause = _stderr_tail(stderr) or f"ffmpeg exited with status {code}"
            raise AudioDecodeError(f"{path}: cannot decode audio: {cause}")
    if total == 0:
        raise EmptyAudioError(f"{path}: no audio samples (an empty stream or not an audio file)")


def direct_wav(path: Path, sample_rate: int = SAMPLE_RATE) -> PcmWav | None:
    """The layout of `path` when it can be read without ffmpeg (mono PCM WAV at `sample_rate`).

    None: decode it with ffmpeg. Raises `AudioError` for a missing, empty or truncated file.
    """
    path = Path(path)
    _check_input(path)
    try:
        layout = open_pcm_wav(path, sample_rate)
    except TruncatedWavError as err:
        raise AudioDecodeError(str(err)) from err
    if layout is not None and layout.frames == 0:
        raise EmptyAudioError(f"{path}: no audio samples (an empty stream or not an audio file)")
    return layout


def stream_audio(
    path: Path,
    sample_rate: int = SAMPLE_RATE,
    block_seconds: float = 30.0,
    *,
    direct: bool = True,
) -> Iterator[np.ndarray]:
    """Yield mono float32 blocks of `block_seconds` at `sample_rate` (the last may be shorter).

    Any format ffmpeg reads (wav, flac, mp3, m4a, webm/opus, ...); mono PCM WAV already at
    `sample_rate` is read directly (`direct=False` forces ffmpeg), with the same samples.
    Memory stays bounded by one block, whatever the recording's length. Raises `AudioError`
    (naming `path`) for a missing, empty, truncated or undecodable file; a decoder failure
    part-way raises after the blocks decoded so far.
    """
    path = Path(path)
    block_samples = max(1, round(block_seconds * sample_rate))
    layout = direct_wav(path, sample_rate) if direct else None
    if layout is not None:
        yield from _direct_blocks(layout, block_samples)
        return
    for data in _pcm_blocks(path, sample_rate, block_samples, "f32le", 4):
        yield np.frombuffer(data, dtype="<f4")


def _direct_blocks(layout: PcmWav, block_samples: int) -> Iterator[np.ndarray]:
    try:
        yield from layout.blocks(block_samples)
    except TruncatedWavError as err:
        raise AudioDecodeError(str(err)) from err
    except OSError as err:
        raise AudioDecodeError(f"{layout.path}: cannot read audio: {err}") from err


def decode_audio(path: Path, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """The whole recording in memory, mono float32: for short clips (use `stream_audio` else)."""
    blocks = list(stream_audio(path, sample_rate, block_seconds=60.0))
    return np.concatenate(blocks) if len(blocks) != 1 else blocks[0].copy()


def probe_wav(path: Path) -> AudioInfo:
    """Cheap check of an already-converted WAV: readable header, samples present, not truncated."""
    path = Path(path)
    _check_input(path)
    try:
        with wave.open(str(path), "rb") as handle:
            frames, rate = handle.getnframes(), handle.getframerate()
            frame_bytes = handle.getsampwidth() * handle.getnchannels()
    except (wave.Error, EOFError, OSError) as err:
        raise AudioDecodeError(f"{path}: not a readable PCM WAV file: {err}") from err
    if frames == 0 or rate <= 0:
        raise EmptyAudioError(f"{path}: WAV holds no audio samples")
    if path.stat().st_size < frames * frame_bytes:
        raise AudioDecodeError(
            f"{path}: truncated WAV (header promises {frames} frames, the file is shorter)"
        )
    return AudioInfo(path, frames / rate, rate, sha256_file(path))


def convert_to_wav(
    src: Path,
    dst: Path,
    sample_rate: int = SAMPLE_RATE,
    max_seconds: float | None = None,
    min_seconds: float = 1.0,
) -> AudioInfo:
    """Convert any input to a 16-bit mono WAV at `sample_rate`, atomically, validating it.

    One ffmpeg decode both validates and writes. Rejects corrupt, empty, silent, too short
    (< `min_seconds`) and too long (> `max_seconds`, stopped as soon as it is exceeded) input
    with an `AudioError` naming `src`; `dst` is then left untouched.
    """
    src, dst = Path(src), Path(dst)
    limit = None if max_seconds is None else round(max_seconds * sample_rate)
    samples = 0
    peak = 0
    with atomic_path(dst) as tmp:
        with wave.open(str(tmp), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(sample_rate)
            for data in _pcm_blocks(src, sample_rate, 30 * sample_rate, "s16le", 2):
                block = np.frombuffer(data, dtype="<i2")
                samples += block.size
                peak = max(peak, int(np.abs(block.astype(np.int32)).max()))
                if limit is not None and samples > limit:
                    raise AudioTooLongError(
                        f"{src}: longer than the limit of {max_seconds:g} s "
                        "(raise the limit if this is intended)"
                    )
                out.writeframesraw(data)
        seconds = samples / sample_rate
        if seconds < min_seconds:
            raise TooShortAudioError(
                f"{src}: only {seconds:.2f} s of audio (at least {min_seconds:g} s needed)"
            )
        require_sound(src, peak / 32768, seconds)
    return probe_wav(dst)
