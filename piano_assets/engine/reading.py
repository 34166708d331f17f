"""One recording → the events the model's loop consumes: its windows, or why it failed.

Runs on the decode workers (`prefetch`): hashing the audio, the skip check against a finished
file, reading (directly for 24 kHz mono PCM WAV, through ffmpeg otherwise), cutting the windows
(planned from the policy, or the segment table the tier wrote), the silence rule and the
segment transform. Everything a recording can get wrong ends as a `Failed` event naming it, so
one bad recording never stops the others. Dagster-free.
"""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from piano_assets.engine.audio import (
    SAMPLE_RATE,
    AudioError,
    direct_wav,
    require_sound,
    stream_audio,
)
from piano_assets.engine.files import sha256_file
from piano_assets.engine.pcm_wav import PcmWav, TruncatedWavError
from piano_assets.engine.provenance import same_inputs
from piano_assets.engine.segment import (
    Segment,
    SegmentPolicy,
    make_segment,
    plan_spans,
    segment_span,
    segments_to_json,
)
from piano_assets.engine.store import load_segments, read_provenance


@runtime_checkable
class SegmentTransform(Protocol):
    """Changes each window before the model (T4: seeded augmentation).

    Called on decode worker threads, in any order across recordings: make it a pure function
    of `(segment, wave)` (seed from `segment.segment_id`), and picklable, so the workers may
    also be processes. It must return a 1-D float array of the same length. `describe()` goes
    into the stored provenance: a transformed file never passes for a clean one, and a changed
    transform makes re-runs recompute.
    """

    def __call__(self, segment: Segment, wave: np.ndarray) -> np.ndarray: ...

    def describe(self) -> dict[str, str]: ...


@dataclass(frozen=True)
class RecordingAudio:
    recording_id: str
    audio_path: Path
    extra_provenance: dict[str, str] = field(default_factory=dict)
    # The tier's segment table: embed exactly these windows. None: plan them from the policy.
    segments: Sequence[Segment] | None = None
    segment_transform: SegmentTransform | None = None
    # The stored file's name (without `.safetensors`); None: the recording id.
    output_key: str | None = None

    @property
    def key(self) -> str:
        return self.output_key if self.output_key is not None else self.recording_id


class SegmentTableError(ValueError):
    """A given segment table does not belong to, or does not fit, the recording's audio."""


class TransformError(ValueError):
    """A segment transform is unusable or failed on a window."""


@dataclass(frozen=True)
class ReadJob:
    recording: RecordingAudio
    out_path: Path
    policy: SegmentPolicy
    base_provenance: Mapping[str, str]  # the embedder's and the code's
    direct: bool = True


# Events, in the order one recording emits them: Skipped | Started, Window*, (Finished | Failed).
@dataclass(frozen=True)
class Skipped:
    n_segments: int


@dataclass(frozen=True)
class Started:
    provenance: dict[str, str]


@dataclass(frozen=True)
class Window:
    segment: Segment
    wave: np.ndarray


@dataclass(frozen=True)
class Finished:
    seconds: float


@dataclass(frozen=True)
class Failed:
    error: str


Event = Skipped | Started | Window | Finished | Failed


def transform_provenance(transform: SegmentTransform | None) -> dict[str, str]:
    """The provenance entries of a transform (`segment_transform: none` for clean audio)."""
    if transform is None:
        return {"segment_transform": "none"}
    name = f"{type(transform).__module__}.{type(transform).__qualname__}"
    describe = getattr(transform, "describe", None)
    if not callable(describe):
        raise TransformError(f"segment transform {name} has no describe() for the provenance")
    try:
        pickle.dumps(transform)
    except Exception as err:  # any pickling failure means the same to the user
        raise TransformError(
            f"segment transform {name} cannot be pickled ({err}); decode workers need a "
            "picklable transform (a module-level class or function, no lambdas)"
        ) from err
    described = describe()
    if not isinstance(described, Mapping) or not described:
        raise TransformError(f"segment transform {name}: describe() must return a non-empty dict")
    entries = {"segment_transform": str(described.get("name", name))}
    entries.update({f"segment_transform.{k}": str(v) for k, v in sorted(described.items())})
    return entries


def expected_provenance(job: ReadJob, audio_sha256: str) -> dict[str, str]:
    recording, policy = job.recording, job.policy
    provenance = {
        **job.base_provenance,
        **recording.extra_provenance,
        "recording_id": recording.recording_id,
        "output_key": recording.key,
        "audio_sha256": audio_sha256,
        "sample_rate": str(SAMPLE_RATE),
        "segment_seconds": str(policy.segment_seconds),
        "min_tail_seconds": str(policy.min_tail_seconds),
        **transform_provenance(recording.segment_transform),
    }
    if recording.segments is not None:
        table = segments_to_json(list(recording.segments)).encode()
        provenance["segment_table_sha256"] = hashlib.sha256(table).hexdigest()
    return provenance


def _finished_segments(path: Path, provenance: dict[str, str]) -> int | None:
    """The segment count of a finished file made from the same inputs, else None."""
    if not path.exists():
        return None
    try:
        if same_inputs(read_provenance(path), provenance):
            return len(load_segments(path))
    except (ValueError, OSError):
        pass  # unreadable or foreign file: recompute and replace it
    return None


def _given_spans(recording: RecordingAudio) -> list[tuple[int, int]]:
    """The sample spans of a given segment table, after checking it belongs to the recording."""
    segments = list(recording.segments or [])
    rid = recording.recording_id
    where = f"recording {rid} ({recording.audio_path})"
    if not segments:
        raise SegmentTableError(f"{where}: the segment table is empty")
    spans: list[tuple[int, int]] = []
    for position, segment in enumerate(segments):
        if segment.recording_id != rid:
            raise SegmentTableError(
                f"{where}: segment table row {position} ({segment.segment_id}) belongs to "
                f"recording {segment.recording_id}"
            )
        if segment.index != position:
            raise SegmentTableError(
                f"{where}: segment table row {position} has index {segment.index}; "
                "rows must be numbered 0, 1, 2, ... in order"
            )
        start, end = segment_span(segment, SAMPLE_RATE)
        if start < 0 or end <= start:
            raise SegmentTableError(
                f"{where}: segment {segment.segment_id} spans {segment.start_s}-{segment.end_s} s"
            )
        if spans and start < spans[-1][0]:
            raise SegmentTableError(
                f"{where}: segment {segment.segment_id} starts before the segment before it"
            )
        spans.append((start, end))
    return spans


def _does_not_fit(recording: RecordingAudio, position: int, total: int) -> str:
    segment = list(recording.segments or [])[position]
    return (
        f"recording {recording.recording_id}: the segment table does not fit the audio "
        f"{recording.audio_path}: segment {segment.segment_id} ends at {segment.end_s:g} s, "
        f"the audio lasts {total / SAMPLE_RATE:.3f} s (was the audio replaced after its "
        "segments were written? materialize the segments again)"
    )


class _ShortAudio(Exception):  # noqa: N818 - internal signal, turned into a SegmentTableError
    def __init__(self, total: int, position: int) -> None:
        super().__init__(total, position)
        self.total, self.position = total, position


def _cut(blocks: Iterator[np.ndarray], spans: list[tuple[int, int]]) -> Iterator[np.ndarray]:
    """The spans (starts non-decreasing) out of a stream of blocks, holding one window or so."""
    buffer = np.zeros(0, dtype=np.float32)
    buffer_start = 0  # sample index of buffer[0]
    exhausted = False
    for position, (start, end) in enumerate(spans):
        while True:
            if start > buffer_start:  # drop what no later span needs
                drop = min(start - buffer_start, len(buffer))
                buffer, buffer_start = buffer[drop:], buffer_start + drop
            if buffer_start + len(buffer) >= end or exhausted:
                break
            block = next(blocks, None)
            if block is None:
                exhausted = True
            else:
                buffer = np.concatenate([buffer, block]) if len(buffer) else block
        if buffer_start + len(buffer) < end:
            raise _ShortAudio(buffer_start + len(buffer), position)
        yield buffer[start - buffer_start : end - buffer_start].copy()


def _windows(job: ReadJob) -> Iterator[tuple[Segment, np.ndarray]]:
    """(segment, float32 wave) per window: the given table's, or the policy's plan."""
    recording = job.recording
    given = list(recording.segments) if recording.segments is not None else None
    spans = _given_spans(recording) if given is not None else None
    layout = direct_wav(Path(recording.audio_path), SAMPLE_RATE) if job.direct else None
    if layout is not None:
        yield from _direct_windows(job, layout, given, spans)
    elif given is not None and spans is not None:
        yield from _streamed_table_windows(job, given, spans)
    else:
        yield from _streamed_policy_windows(job)


def _direct_windows(
    job: ReadJob,
    layout: PcmWav,
    given: list[Segment] | None,
    spans: list[tuple[int, int]] | None,
) -> Iterator[tuple[Segment, np.ndarray]]:
    """Windows read straight from a 24 kHz mono PCM WAV: no ffmpeg, only the bytes needed."""
    recording = job.recording
    if spans is None:
        spans = plan_spans(layout.frames, job.policy, SAMPLE_RATE)
    for position, (_start, end) in enumerate(spans):
        if end > layout.frames:
            raise SegmentTableError(_does_not_fit(recording, position, layout.frames))
    try:
        waves = layout.windows(spans)
        for index, ((start, end), wave) in enumerate(zip(spans, waves, strict=True)):
            if given is not None:
                yield given[index], wave
            else:
                yield make_segment(recording.recording_id, index, start, end, SAMPLE_RATE), wave
    except TruncatedWavError as err:
        raise AudioError(str(err)) from err
    except OSError as err:
        raise AudioError(f"{layout.path}: cannot read audio: {err}") from err


def _streamed_policy_windows(job: ReadJob) -> Iterator[tuple[Segment, np.ndarray]]:
    """ffmpeg's stream cut by the policy as blocks arrive (one block is one window)."""
    recording, policy = job.recording, job.policy
    path = Path(recording.audio_path)
    start = 0
    blocks = stream_audio(path, SAMPLE_RATE, policy.segment_seconds, direct=False)
    for index, block in enumerate(blocks):
        if not policy.keeps(len(block), SAMPLE_RATE):
            break
        end = start + len(block)
        yield make_segment(recording.recording_id, index, start, end, SAMPLE_RATE), block
        start = end


def _streamed_table_windows(
    job: ReadJob, given: list[Segment], spans: list[tuple[int, int]]
) -> Iterator[tuple[Segment, np.ndarray]]:
    """ffmpeg's stream cut by the given segment table."""
    recording = job.recording
    path = Path(recording.audio_path)
    blocks = stream_audio(path, SAMPLE_RATE, job.policy.segment_seconds, direct=False)
    try:
        yield from zip(given, _cut(blocks, spans), strict=True)
    except _ShortAudio as short:
        raise SegmentTableError(_does_not_fit(recording, short.position, short.total)) from None


def _transformed(
    transform: SegmentTransform, name: str, segment: Segment, wave: np.ndarray
) -> np.ndarray:
    try:
        out = np.asarray(transform(segment, wave), dtype=np.float32)
    except Exception as err:  # a user's transform may raise anything
        raise TransformError(
            f"segment transform {name} failed on {segment.segment_id}: {err}"
        ) from err
    if out.shape != wave.shape:
        raise TransformError(
            f"segment transform {name} returned shape {out.shape} for {segment.segment_id}; "
            f"expected {wave.shape} (the same length)"
        )
    if not np.isfinite(out).all():
        raise TransformError(
            f"segment transform {name} returned non-finite samples for {segment.segment_id}"
        )
    return np.ascontiguousarray(out)


def read_recording(job: ReadJob) -> Iterator[Event]:
    """The events of one recording; every expected failure ends in one `Failed`."""
    recording = job.recording
    rid, path = recording.recording_id, Path(recording.audio_path)
    try:
        if not path.exists():
            raise AudioError(f"{path}: audio file not found for {rid}")
        provenance = expected_provenance(job, sha256_file(path))
        done = _finished_segments(job.out_path, provenance)
        if done is not None:
            yield Skipped(done)
            return
        yield Started(provenance)
        transform = recording.segment_transform
        name = provenance["segment_transform"]
        peak, samples, count = 0.0, 0, 0
        for segment, wave in _windows(job):
            if wave.size:  # max and -min: no temporary array of |wave|
                peak = max(peak, float(wave.max()), -float(wave.min()))
            samples += wave.size
            count += 1
            if transform is not None:
                wave = _transformed(transform, name, segment, wave)  # noqa: PLW2901
            yield Window(segment, wave)
        if count == 0:
            raise AudioError(
                f"{path}: too short for one segment (< {job.policy.min_tail_seconds} s)"
            )
        require_sound(path, peak, samples / SAMPLE_RATE)
        yield Finished(samples / SAMPLE_RATE)
    except (AudioError, ValueError, OSError) as err:
        yield Failed(str(err))
