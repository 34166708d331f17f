"""Deterministic piano-like audio for the embedded sample and the tests (never downloaded)."""

from __future__ import annotations

import io
import wave
from pathlib import Path

import numpy as np

from piano_assets.engine.files import atomic_write_bytes

# Harmonic amplitudes of a struck string, roughly: strong fundamental, decaying partials.
_PARTIALS = (1.0, 0.5, 0.32, 0.2, 0.12, 0.08)
_INHARMONICITY = 0.0004


def piano_notes(
    seconds: float,
    sample_rate: int = 24_000,
    seed: int = 0,
    notes_per_second: float = 3.0,
) -> np.ndarray:
    """Mono float32 in [-1, 1]: random notes (mid-register heavy) with piano-like decay."""
    rng = np.random.default_rng(seed)
    total = round(seconds * sample_rate)
    signal = np.zeros(total, dtype=np.float64)
    note_count = max(1, int(seconds * notes_per_second))
    onsets = np.sort(rng.uniform(0, max(seconds - 0.05, 0.0), size=note_count))
    for onset in onsets:
        midi = int(np.clip(rng.normal(64, 10), 21, 108))
        frequency = 440.0 * 2 ** ((midi - 69) / 12)
        velocity = rng.uniform(0.3, 0.9)
        length = min(int(2.5 * sample_rate), total - int(onset * sample_rate))
        if length <= 0:
            continue
        t = np.arange(length) / sample_rate
        decay = np.exp(-t * (1.5 + frequency / 800))
        attack = np.minimum(t / 0.005, 1.0)
        tone = np.zeros(length)
        for number, amplitude in enumerate(_PARTIALS, start=1):
            partial_freq = frequency * number * np.sqrt(1 + _INHARMONICITY * number**2)
            if partial_freq >= sample_rate / 2:
                break
            tone += amplitude * np.sin(2 * np.pi * partial_freq * t) * np.exp(-t * number * 0.6)
        start = int(onset * sample_rate)
        signal[start : start + length] += velocity * tone * decay * attack
    peak = np.max(np.abs(signal)) or 1.0
    return (0.8 * signal / peak).astype(np.float32)


def wav_bytes(signal: np.ndarray, sample_rate: int, channels: int = 1) -> bytes:
    """16-bit PCM WAV bytes; `channels=2` duplicates a mono signal with a slight level offset."""
    pcm = np.clip(signal, -1.0, 1.0)
    if channels == 2:
        pcm = np.stack([pcm, 0.9 * pcm], axis=1)
    data = (pcm * 32767).astype("<i2").tobytes()
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as handle:
        handle.setnchannels(channels)
        handle.setsampwidth(2)
        handle.setframerate(sample_rate)
        handle.writeframes(data)
    return buffer.getvalue()


def write_piano_wav(
    path: Path,
    seconds: float,
    sample_rate: int = 24_000,
    seed: int = 0,
    channels: int = 1,
) -> Path:
    """Write a deterministic piano-like WAV atomically; same arguments give the same bytes."""
    atomic_write_bytes(
        path, wav_bytes(piano_notes(seconds, sample_rate, seed), sample_rate, channels)
    )
    return path
