"""Seeded, recorded audio augmentation for the T4 invariance pairs. Dagster-free.

Kept libraries do the signal processing, nothing is hand-written DSP:

* room: pyroomacoustics (MIT) builds the impulse response of a shoebox room from a seeded bank
  of synthetic rooms (image-source method); scipy's `oaconvolve` applies it;
* noise: audiomentations (MIT) `AddColorNoise` at an SNR of 10–30 dB;
* phone: audiomentations `BandPassFilter` 300–3400 Hz, then the ffmpeg shipped by
  imageio-ffmpeg resamples to 8 kHz, encodes with a narrow-band codec (AMR-NB or G.711),
  decodes and resamples back to 24 kHz (argument lists and pipes, no shell);
* pitch: audiomentations `PitchShift` (signalsmith-stretch backend, MIT) within ±50 cents;
* eq: audiomentations `PeakingFilter`, 1–3 bands of ±6 dB.

Each augmented segment is described by an `AugmentationRecord`: the scheme, the segment id,
the version number, the seed derived from both, and every step's exact parameters. Applying a
record is a pure function of the record and the clean wave, so any pair regenerates bit for bit
(same library versions; `describe()` records them).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.metadata
import json
import random
import subprocess
from collections.abc import Iterator, Sequence
from enum import StrEnum
from typing import Annotated, Any, Literal, assert_never

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from piano_assets.engine.ffmpeg import ffmpeg_exe

__all__ = [
    "AUGMENT_SCHEME",
    "CHAIN_ORDER",
    "AugmentKind",
    "AugmentationConfig",
    "AugmentationError",
    "AugmentationRecord",
    "AugmentationStep",
    "SegmentAugmenter",
    "apply_record",
    "augment_segment",
    "augmentation_record",
    "augmented_segment_id",
    "library_versions",
    "parameter_problems",
    "room_bank",
    "segment_seed",
]

# Bump when the meaning of a record or the drawing of parameters changes.
AUGMENT_SCHEME = "piano-assets-augment/1"
SAMPLE_RATE = 24_000
_NARROW_RATE = 8_000
_PHONE_BAND_HZ = (300.0, 3400.0)
_PHONE_ROLLOFF_DB = 24
_MAX_ISM_ORDER = 25  # image-source reflections; enough for the RT60s below (measured)
_PEAK_LIMIT = 0.999
_AMR_NB_BITRATES = ("4.75k", "5.15k", "5.9k", "6.7k", "7.4k", "7.95k", "10.2k", "12.2k")


class AugmentationError(RuntimeError):
    """An augmentation could not be applied; the message names the segment and the step."""


class AugmentKind(StrEnum):
    ROOM = "room"
    NOISE = "noise"
    PHONE = "phone"
    PITCH = "pitch"
    EQ = "eq"


# Instrument (pitch, EQ) → room → noise in the room → the recording device (phone).
CHAIN_ORDER: tuple[AugmentKind, ...] = (
    AugmentKind.PITCH,
    AugmentKind.EQ,
    AugmentKind.ROOM,
    AugmentKind.NOISE,
    AugmentKind.PHONE,
)


# -- parameters --------------------------------------------------------------------------------


class _Step(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Vec3 = tuple[float, float, float]


class RoomStep(_Step):
    kind: Literal["room"] = "room"
    bank_seed: int
    room_index: int = Field(ge=0)
    dimensions_m: Vec3
    rt60_s: float
    source_m: Vec3
    microphone_m: Vec3
    max_order: int = Field(ge=0, le=_MAX_ISM_ORDER)


class NoiseStep(_Step):
    kind: Literal["noise"] = "noise"
    snr_db: float
    decay_db_per_octave: float = Field(description="0 white, -3.01 pink, -6.02 brown.")
    noise_seed: int = Field(ge=0, lt=2**32)


class PhoneStep(_Step):
    kind: Literal["phone"] = "phone"
    low_hz: float = _PHONE_BAND_HZ[0]
    high_hz: float = _PHONE_BAND_HZ[1]
    rolloff_db_per_octave: int = _PHONE_ROLLOFF_DB
    narrow_rate_hz: int = _NARROW_RATE
    codec: Literal["amr_nb", "g711_mulaw", "g711_alaw"]
    bitrate: str | None = Field(default=None, description="AMR-NB mode, e.g. '12.2k'.")

    @model_validator(mode="after")
    def _bitrate_matches_codec(self) -> PhoneStep:
        if self.codec == "amr_nb" and self.bitrate not in _AMR_NB_BITRATES:
            raise ValueError(f"AMR-NB bitrate must be one of {_AMR_NB_BITRATES}")
        if self.codec != "amr_nb" and self.bitrate is not None:
            raise ValueError("G.711 has a fixed rate (64 kbit/s): no bitrate")
        return self


class PitchStep(_Step):
    kind: Literal["pitch"] = "pitch"
    cents: float


class EqBand(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    center_hz: float
    gain_db: float
    q: float


class EqStep(_Step):
    kind: Literal["eq"] = "eq"
    bands: list[EqBand] = Field(min_length=1)


AugmentationStep = Annotated[
    RoomStep | NoiseStep | PhoneStep | PitchStep | EqStep, Field(discriminator="kind")
]


class ParameterRanges(BaseModel):
    """What each kind may draw; `parameter_problems` checks records against it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    snr_db: tuple[float, float] = (10.0, 30.0)
    noise_decay_db_per_octave: tuple[float, float] = (-6.02, 0.0)
    pitch_cents: tuple[float, float] = (-50.0, 50.0)
    eq_gain_db: tuple[float, float] = (-6.0, 6.0)
    eq_center_hz: tuple[float, float] = (60.0, 8000.0)
    eq_q: tuple[float, float] = (0.5, 4.0)
    eq_bands: tuple[int, int] = (1, 3)
    rt60_s: tuple[float, float] = (0.2, 1.5)
    room_dimensions_m: tuple[float, float] = (3.0, 40.0)
    codecs: tuple[str, ...] = ("amr_nb", "g711_mulaw", "g711_alaw")

    @model_validator(mode="after")
    def _ordered(self) -> ParameterRanges:
        for name in (
            "snr_db",
            "noise_decay_db_per_octave",
            "pitch_cents",
            "eq_gain_db",
            "eq_center_hz",
            "eq_q",
            "eq_bands",
            "rt60_s",
            "room_dimensions_m",
        ):
            low, high = getattr(self, name)
            if low > high:
                raise ValueError(f"{name}: lower bound {low} above upper bound {high}")
        if not (self.snr_db[0] >= 10.0 and self.snr_db[1] <= 30.0):
            raise ValueError("snr_db must stay within 10–30 dB (the issue's range)")
        if not (self.pitch_cents[0] >= -50.0 and self.pitch_cents[1] <= 50.0):
            raise ValueError("pitch_cents must stay within ±50 cents")
        if not (self.eq_gain_db[0] >= -6.0 and self.eq_gain_db[1] <= 6.0):
            raise ValueError("eq_gain_db must stay within ±6 dB")
        return self


_DEFAULT_PROBABILITIES: dict[AugmentKind, float] = {
    AugmentKind.ROOM: 0.3,
    AugmentKind.NOISE: 0.3,
    AugmentKind.PHONE: 0.2,
    AugmentKind.PITCH: 0.1,
    AugmentKind.EQ: 0.2,
}


class AugmentationConfig(BaseModel):
    """How chains are drawn. Its sha256 goes into the provenance of augmented embeddings."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    probabilities: dict[AugmentKind, float] = Field(
        default_factory=lambda: dict(_DEFAULT_PROBABILITIES),
        description="Each kind is drawn independently with its probability; when none is "
        "drawn, one is picked in proportion to the probabilities (at least one applies).",
    )
    versions_per_segment: int = Field(default=1, ge=1, le=64)
    ranges: ParameterRanges = Field(default_factory=ParameterRanges)
    room_bank_seed: int = Field(default=20_240_601, ge=0)
    room_bank_size: int = Field(default=32, ge=1, le=4096)

    @field_validator("probabilities")
    @classmethod
    def _probabilities_valid(cls, value: dict[AugmentKind, float]) -> dict[AugmentKind, float]:
        for kind, p in value.items():
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"probability of {kind.value} is {p}, not within [0, 1]")
        if sum(value.values()) <= 0:
            raise ValueError("at least one kind needs a probability above 0")
        return value

    def sha256(self) -> str:
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()


class AugmentationRecord(BaseModel):
    """Everything needed to regenerate one augmented segment from its clean audio."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    scheme: str = AUGMENT_SCHEME
    segment_id: str
    version: int = Field(ge=1)
    seed: int = Field(ge=0, description="Derived from scheme, segment id and version.")
    sample_rate: int = SAMPLE_RATE
    steps: list[AugmentationStep] = Field(min_length=1)

    @property
    def kinds(self) -> list[str]:
        return [step.kind for step in self.steps]

    @property
    def augmented_segment_id(self) -> str:
        return augmented_segment_id(self.segment_id, self.version)


def segment_seed(segment_id: str, version: int) -> int:
    """A 63-bit seed from the segment id and the version number (stable across machines)."""
    digest = hashlib.sha256(f"{AUGMENT_SCHEME}|{segment_id}|{version}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def augmented_segment_id(segment_id: str, version: int) -> str:
    return f"{segment_id}_aug{version:02d}"


# -- the room bank -----------------------------------------------------------------------------


def room_bank(bank_seed: int, size: int, ranges: ParameterRanges | None = None) -> list[RoomStep]:
    """`size` synthetic shoebox rooms drawn from `bank_seed`: small rooms to concert halls."""
    ranges = ranges or ParameterRanges()
    import pyroomacoustics as pra

    rng = np.random.default_rng(bank_seed)
    low_dim, high_dim = ranges.room_dimensions_m
    rooms = []
    for index in range(size):
        # Log-uniform size so small rooms and halls are both common.
        length = float(np.exp(rng.uniform(np.log(max(low_dim, 3.0)), np.log(high_dim))))
        width = length * float(rng.uniform(0.55, 0.95))
        height = float(np.clip(rng.uniform(2.6, 0.35 * length + 2.5), 2.5, 18.0))
        dims = (round(length, 3), round(max(width, low_dim), 3), round(height, 3))
        # A big room cannot be drier than full absorption allows (Sabine): start above that.
        volume = dims[0] * dims[1] * dims[2]
        surface = 2 * (dims[0] * dims[1] + dims[0] * dims[2] + dims[1] * dims[2])
        driest = 1.3 * 0.161 * volume / surface
        low_rt60, high_rt60 = ranges.rt60_s
        rt60 = round(float(rng.uniform(min(max(low_rt60, driest), high_rt60), high_rt60)), 3)
        source = tuple(round(float(rng.uniform(0.5, d - 0.5)), 3) for d in dims)
        mic = tuple(round(float(rng.uniform(0.5, d - 0.5)), 3) for d in dims)
        try:
            _, sabine_order = pra.inverse_sabine(rt60, list(dims))
        except ValueError as err:
            raise AugmentationError(
                f"room bank {bank_seed}: room {index} {dims} cannot have RT60 {rt60} s; "
                "narrow ranges.room_dimensions_m or widen ranges.rt60_s"
            ) from err
        rooms.append(
            RoomStep(
                bank_seed=bank_seed,
                room_index=index,
                dimensions_m=dims,
                rt60_s=rt60,
                source_m=source,  # type: ignore[arg-type]
                microphone_m=mic,  # type: ignore[arg-type]
                max_order=min(int(sabine_order), _MAX_ISM_ORDER),
            )
        )
    return rooms


@functools.lru_cache(maxsize=8)
def _cached_bank(bank_seed: int, size: int, ranges_json: str) -> tuple[RoomStep, ...]:
    return tuple(room_bank(bank_seed, size, ParameterRanges.model_validate_json(ranges_json)))


@functools.lru_cache(maxsize=256)
def _room_impulse_response(
    dims: Vec3, rt60: float, source: Vec3, mic: Vec3, max_order: int, sample_rate: int
) -> np.ndarray:
    import pyroomacoustics as pra

    absorption, _ = pra.inverse_sabine(rt60, list(dims))
    room = pra.ShoeBox(
        list(dims), fs=sample_rate, materials=pra.Material(absorption), max_order=max_order
    )
    room.add_source(list(source))
    room.add_microphone(list(mic))
    room.compute_rir()
    rir = np.asarray(room.rir[0][0], dtype=np.float64)
    rir.setflags(write=False)
    return rir


# -- drawing a chain ---------------------------------------------------------------------------


def _draw_kinds(
    rng: np.random.Generator, probabilities: dict[AugmentKind, float]
) -> list[AugmentKind]:
    kinds = [kind for kind in CHAIN_ORDER if rng.random() < probabilities.get(kind, 0.0)]
    if not kinds:
        weights = np.array([probabilities.get(kind, 0.0) for kind in CHAIN_ORDER])
        kinds = [CHAIN_ORDER[int(rng.choice(len(CHAIN_ORDER), p=weights / weights.sum()))]]
    return kinds


def _draw_step(kind: str, rng: np.random.Generator, config: AugmentationConfig) -> Any:
    ranges = config.ranges
    if kind == AugmentKind.ROOM:
        bank = _cached_bank(config.room_bank_seed, config.room_bank_size, ranges.model_dump_json())
        return bank[int(rng.integers(len(bank)))]
    if kind == AugmentKind.NOISE:
        return NoiseStep(
            snr_db=round(float(rng.uniform(*ranges.snr_db)), 2),
            decay_db_per_octave=round(float(rng.uniform(*ranges.noise_decay_db_per_octave)), 2),
            noise_seed=int(rng.integers(2**32)),
        )
    if kind == AugmentKind.PHONE:
        codec = str(rng.choice(list(ranges.codecs)))
        bitrate = str(rng.choice(list(_AMR_NB_BITRATES))) if codec == "amr_nb" else None
        return PhoneStep(codec=codec, bitrate=bitrate)  # type: ignore[arg-type]
    if kind == AugmentKind.PITCH:
        cents = 0.0
        while abs(cents) < 5.0:  # a shift under 5 cents is no augmentation
            cents = round(float(rng.uniform(*ranges.pitch_cents)), 1)
        return PitchStep(cents=cents)
    low_bands, high_bands = ranges.eq_bands
    bands = []
    for _ in range(int(rng.integers(low_bands, high_bands + 1))):
        center = np.exp(rng.uniform(np.log(ranges.eq_center_hz[0]), np.log(ranges.eq_center_hz[1])))
        bands.append(
            EqBand(
                center_hz=round(float(center), 1),
                gain_db=round(float(rng.uniform(*ranges.eq_gain_db)), 2),
                q=round(float(rng.uniform(*ranges.eq_q)), 2),
            )
        )
    return EqStep(bands=bands)


def augmentation_record(
    segment_id: str, version: int, config: AugmentationConfig | None = None
) -> AugmentationRecord:
    """The exact parameters version `version` of `segment_id` gets (no audio needed)."""
    config = config or AugmentationConfig()
    if version < 1:
        raise AugmentationError(f"segment {segment_id}: augmentation versions start at 1")
    seed = segment_seed(segment_id, version)
    rng = np.random.default_rng(seed)
    kinds = _draw_kinds(rng, config.probabilities)
    steps = [_draw_step(kind, rng, config) for kind in kinds]
    return AugmentationRecord(segment_id=segment_id, version=version, seed=seed, steps=steps)


# -- applying a record -------------------------------------------------------------------------


@contextlib.contextmanager
def _seeded_global_rngs(seed: int) -> Iterator[None]:
    """audiomentations draws from `random` and `numpy.random`: seed both, then restore them."""
    saved_random, saved_numpy = random.getstate(), np.random.get_state()
    random.seed(seed)
    np.random.seed(seed % 2**32)
    try:
        yield
    finally:
        random.setstate(saved_random)
        np.random.set_state(saved_numpy)


def _apply_room(wave: np.ndarray, step: RoomStep, sample_rate: int) -> np.ndarray:
    from scipy.signal import oaconvolve

    rir = _room_impulse_response(
        step.dimensions_m,
        step.rt60_s,
        step.source_m,
        step.microphone_m,
        step.max_order,
        sample_rate,
    )
    wet = oaconvolve(wave.astype(np.float64), rir)[: len(wave)]
    dry_rms = float(np.sqrt(np.mean(np.square(wave, dtype=np.float64))))
    wet_rms = float(np.sqrt(np.mean(np.square(wet))))
    gain = dry_rms / wet_rms if wet_rms > 0 else 1.0  # keep the level: only the room changes
    return (wet * gain).astype(np.float32)


def _apply_noise(wave: np.ndarray, step: NoiseStep, sample_rate: int) -> np.ndarray:
    from audiomentations import AddColorNoise

    transform = AddColorNoise(
        min_snr_db=step.snr_db,
        max_snr_db=step.snr_db,
        min_f_decay=step.decay_db_per_octave,
        max_f_decay=step.decay_db_per_octave,
        p_apply_a_weighting=0.0,
        p=1.0,
    )
    with _seeded_global_rngs(step.noise_seed):
        return transform(wave, sample_rate).astype(np.float32)


def _codec_arguments(step: PhoneStep) -> tuple[list[str], list[str]]:
    """(encoder output arguments, decoder input arguments) for ffmpeg."""
    rate = ["-ar", str(step.narrow_rate_hz), "-ac", "1"]
    if step.codec == "amr_nb":
        return [*rate, "-c:a", "libopencore_amrnb", "-b:a", str(step.bitrate), "-f", "amr"], [
            "-f",
            "amr",
        ]
    fmt = "mulaw" if step.codec == "g711_mulaw" else "alaw"
    return [*rate, "-c:a", f"pcm_{fmt}", "-f", fmt], ["-f", fmt, *rate]


def _ffmpeg(arguments: Sequence[str], data: bytes, what: str) -> bytes:
    command = [ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", *arguments]
    try:
        done = subprocess.run(command, input=data, capture_output=True, check=False, timeout=120)
    except subprocess.TimeoutExpired as err:
        raise AugmentationError(f"phone simulation: ffmpeg {what} timed out") from err
    if done.returncode != 0:
        detail = done.stderr.decode("utf-8", "replace").strip()[-500:]
        raise AugmentationError(f"phone simulation: ffmpeg {what} failed: {detail}")
    return done.stdout


def _apply_phone(wave: np.ndarray, step: PhoneStep, sample_rate: int) -> np.ndarray:
    from audiomentations import BandPassFilter

    low, high = step.low_hz, step.high_hz
    center = (low + high) / 2
    band = BandPassFilter(
        min_center_freq=center,
        max_center_freq=center,
        min_bandwidth_fraction=(high - low) / center,
        max_bandwidth_fraction=(high - low) / center,
        min_rolloff=step.rolloff_db_per_octave,
        max_rolloff=step.rolloff_db_per_octave,
        p=1.0,
    )
    with _seeded_global_rngs(0):  # fixed bounds: the draw is a formality, seeded anyway
        filtered = band(wave, sample_rate).astype(np.float32)
    encode_out, decode_in = _codec_arguments(step)
    raw = ["-f", "f32le", "-ar", str(sample_rate), "-ac", "1"]
    exact = ["-threads", "1", "-fflags", "+bitexact", "-flags:a", "+bitexact"]
    encoded = _ffmpeg(
        [*exact, *raw, "-i", "pipe:0", *encode_out, "pipe:1"], filtered.tobytes(), "encoding"
    )
    decoded = _ffmpeg([*exact, *decode_in, "-i", "pipe:0", *raw, "pipe:1"], encoded, "decoding")
    back = np.frombuffer(decoded, dtype=np.float32)
    if len(back) >= len(wave):
        return back[: len(wave)].copy()
    return np.concatenate([back, np.zeros(len(wave) - len(back), dtype=np.float32)])


def _apply_pitch(wave: np.ndarray, step: PitchStep, sample_rate: int) -> np.ndarray:
    from audiomentations import PitchShift

    semitones = step.cents / 100.0
    transform = PitchShift(
        min_semitones=semitones, max_semitones=semitones, method="signalsmith_stretch", p=1.0
    )
    with _seeded_global_rngs(0):
        shifted = transform(wave, sample_rate).astype(np.float32)
    return shifted[: len(wave)]


def _apply_eq(wave: np.ndarray, step: EqStep, sample_rate: int) -> np.ndarray:
    from audiomentations import PeakingFilter

    out = wave
    for band in step.bands:
        center = min(band.center_hz, 0.45 * sample_rate)
        transform = PeakingFilter(
            min_center_freq=center,
            max_center_freq=center,
            min_gain_db=band.gain_db,
            max_gain_db=band.gain_db,
            min_q=band.q,
            max_q=band.q,
            p=1.0,
        )
        with _seeded_global_rngs(0):
            out = transform(out, sample_rate).astype(np.float32)
    return out


def _apply_step(
    wave: np.ndarray,
    step: RoomStep | NoiseStep | PhoneStep | PitchStep | EqStep,
    sample_rate: int,
) -> np.ndarray:
    """The effect of one step, by its kind."""
    match step:
        case RoomStep():
            return _apply_room(wave, step, sample_rate)
        case NoiseStep():
            return _apply_noise(wave, step, sample_rate)
        case PhoneStep():
            return _apply_phone(wave, step, sample_rate)
        case PitchStep():
            return _apply_pitch(wave, step, sample_rate)
        case EqStep():
            return _apply_eq(wave, step, sample_rate)
        case _:
            assert_never(step)


def apply_record(wave: np.ndarray, record: AugmentationRecord) -> np.ndarray:
    """Apply a record's steps to a clean mono wave (float32, the record's sample rate).

    Deterministic: the same wave and record give the same array, bit for bit.
    """
    samples = np.ascontiguousarray(wave, dtype=np.float32)
    if samples.ndim != 1:
        raise AugmentationError(f"segment {record.segment_id}: expected mono audio")
    if len(samples) == 0:
        raise AugmentationError(f"segment {record.segment_id}: empty audio")
    for step in record.steps:
        try:
            samples = _apply_step(samples, step, record.sample_rate)
        except AugmentationError as err:
            raise AugmentationError(f"segment {record.segment_id}: {err}") from err
    samples = np.nan_to_num(samples, nan=0.0, posinf=0.0, neginf=0.0)
    peak = float(np.max(np.abs(samples)))
    if peak > _PEAK_LIMIT:  # a gain, so that a WAV writer never clips
        samples = samples * np.float32(_PEAK_LIMIT / peak)
    return samples.astype(np.float32, copy=False)


def augment_segment(
    segment_id: str, wave: np.ndarray, version: int, config: AugmentationConfig | None = None
) -> tuple[np.ndarray, AugmentationRecord]:
    """Draw version `version` of `segment_id`'s chain and apply it: (augmented wave, record)."""
    record = augmentation_record(segment_id, version, config)
    return apply_record(wave, record), record


# -- checks ------------------------------------------------------------------------------------


def _bounded_values(
    step: Any, ranges: ParameterRanges
) -> list[tuple[str, float, tuple[float, float]]]:
    """(name, value, allowed bounds) for every ranged parameter of a step."""
    if isinstance(step, NoiseStep):
        return [
            ("snr_db", step.snr_db, ranges.snr_db),
            ("noise decay", step.decay_db_per_octave, ranges.noise_decay_db_per_octave),
        ]
    if isinstance(step, PitchStep):
        return [("pitch cents", step.cents, ranges.pitch_cents)]
    if isinstance(step, EqStep):
        values = [("eq bands", float(len(step.bands)), tuple(map(float, ranges.eq_bands)))]
        for band in step.bands:
            values += [
                ("eq gain_db", band.gain_db, ranges.eq_gain_db),
                ("eq center_hz", band.center_hz, ranges.eq_center_hz),
                ("eq q", band.q, ranges.eq_q),
            ]
        return values  # type: ignore[return-value]
    if isinstance(step, RoomStep):
        sides = [
            ("room side", side, (2.5, ranges.room_dimensions_m[1])) for side in step.dimensions_m
        ]
        return [("rt60_s", step.rt60_s, ranges.rt60_s), *sides]
    return []


def _shape_problems(step: Any, ranges: ParameterRanges) -> list[str]:
    if isinstance(step, RoomStep):
        inside = all(
            0 < c < d
            for point in (step.source_m, step.microphone_m)
            for c, d in zip(point, step.dimensions_m, strict=True)
        )
        return [] if inside else ["a position lies outside the room"]
    if isinstance(step, PhoneStep):
        problems = []
        if (step.low_hz, step.high_hz) != _PHONE_BAND_HZ or step.narrow_rate_hz != _NARROW_RATE:
            problems.append("phone band or rate changed")
        if step.codec not in ranges.codecs:
            problems.append(f"codec {step.codec} not allowed")
        return problems
    return []


def parameter_problems(
    record: AugmentationRecord, config: AugmentationConfig | None = None
) -> list[str]:
    """Why a record's parameters are out of range (empty when all are in range)."""
    ranges = (config or AugmentationConfig()).ranges
    messages: list[str] = []
    if record.scheme != AUGMENT_SCHEME:
        messages.append(f"scheme {record.scheme!r} is not {AUGMENT_SCHEME!r}")
    if record.seed != segment_seed(record.segment_id, record.version):
        messages.append("seed does not derive from the segment id")
    if len(set(record.kinds)) != len(record.kinds):
        messages.append("a kind appears twice")
    for step in record.steps:
        for name, value, (low, high) in _bounded_values(step, ranges):
            if not low <= value <= high:
                messages.append(f"{name} {value} outside [{low}, {high}]")
        messages += _shape_problems(step, ranges)
    return [f"{record.augmented_segment_id}: {message}" for message in messages]


# -- provenance and the engine's per-segment transform -----------------------------------------


@functools.cache
def library_versions() -> dict[str, str]:
    """Versions of everything that shapes the augmented audio (goes into provenance)."""
    versions = {}
    for package in ("audiomentations", "pyroomacoustics", "python-stretch", "scipy", "numpy"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = "missing"
    try:
        import imageio_ffmpeg

        versions["ffmpeg"] = str(imageio_ffmpeg.get_ffmpeg_version())
    except Exception:
        versions["ffmpeg"] = ffmpeg_exe()
    return versions


class SegmentAugmenter:
    """The engine's per-segment transform: version `version` of each segment's seeded chain.

    Picklable (it holds only its config and version). `parameters_for(segment_id)` gives the
    record of what `__call__` applies to that segment.
    """

    def __init__(self, config: AugmentationConfig | None = None, version: int = 1):
        if version < 1 or (config and version > config.versions_per_segment):
            limit = config.versions_per_segment if config else "versions_per_segment"
            raise AugmentationError(f"augmentation version {version} outside 1..{limit}")
        self.config = config or AugmentationConfig()
        self.version = version

    def __call__(self, segment: Any, wave: np.ndarray) -> np.ndarray:
        segment_id = getattr(segment, "segment_id", segment)
        return apply_record(wave, self.parameters_for(str(segment_id)))

    def parameters_for(self, segment_id: str) -> AugmentationRecord:
        return augmentation_record(segment_id, self.version, self.config)

    def describe(self) -> dict[str, str]:
        return {
            "augmentation_scheme": AUGMENT_SCHEME,
            "augmentation_version": str(self.version),
            "augmentation_config_sha256": self.config.sha256(),
            "augmentation_libraries": json.dumps(library_versions(), sort_keys=True),
        }

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, SegmentAugmenter)
            and other.config == self.config
            and other.version == self.version
        )

    def __hash__(self) -> int:
        return hash((self.config.sha256(), self.version))

    def __repr__(self) -> str:
        return f"SegmentAugmenter(version={self.version}, config={self.config.sha256()[:12]})"
