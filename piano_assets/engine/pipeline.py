"""The shared path of every tier: audio → 30 s segments → MuQ in batches → one file per recording.

Decode workers (`prefetch`) read recordings ahead into a bounded buffer while the model runs;
the model's loop sees the recordings' windows in the caller's order whatever the number of
workers, so batches, and the stored bytes, are the same as reading one recording after the
other (`EngineConfig(decode_workers=0)`). Segments are batched across recordings. One bad
recording fails alone; a finished file made from the same inputs is skipped, so re-runs finish
what a crash left. Finished recordings are written on a background thread. Dagster-free.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from piano_assets.engine.audio import SAMPLE_RATE
from piano_assets.engine.embed import BatchResult, Embedder
from piano_assets.engine.files import UnsafeNameError, validate_key
from piano_assets.engine.prefetch import ordered_prefetch
from piano_assets.engine.provenance import code_provenance
from piano_assets.engine.reading import (
    Event,
    Failed,
    Finished,
    ReadJob,
    RecordingAudio,
    SegmentTableError,
    SegmentTransform,
    Skipped,
    Started,
    TransformError,
    Window,
    expected_provenance,
    read_recording,
)
from piano_assets.engine.segment import Segment, SegmentPolicy
from piano_assets.engine.store import STORE_DTYPE, RecordingEmbeddings, StoreWriter, WriteDone

__all__ = [
    "EngineConfig",
    "RecordingAudio",
    "RecordingOutcome",
    "SegmentTableError",
    "SegmentTransform",
    "TransformError",
    "embed_recordings",
    "embedding_path",
    "expected_provenance",
]

MAX_AUTO_WORKERS = 8


def _cpu_count() -> int:
    if hasattr(os, "sched_getaffinity"):  # the cores this process may use (Linux)
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


@dataclass(frozen=True)
class EngineConfig:
    """How the engine feeds the model. The defaults suit both a laptop and a GPU machine."""

    # Threads decoding ahead of the model; 0 reads in the calling thread (the sequential path).
    # None: with the model on a GPU, one per CPU core (at most 8); with the model on the CPU,
    # 0: it already keeps every core busy, and decode threads only compete with it
    # (benchmarks/README.md).
    decode_workers: int | None = None
    # Segments (about 2.9 MB each at 30 s) waiting for the model at most; None: two batches
    # plus one per worker.
    prefetch_segments: int | None = None
    # Read 24 kHz mono PCM WAV without ffmpeg (the same samples); False forces ffmpeg.
    direct_wav: bool = True
    # Write finished recordings on a background thread (the same bytes).
    background_writes: bool = True

    def workers(self, device_type: str = "cuda") -> int:
        if self.decode_workers is not None:
            if self.decode_workers < 0:
                raise ValueError(f"decode_workers must be >= 0, not {self.decode_workers}")
            return self.decode_workers
        if device_type == "cpu":
            return 0
        return min(MAX_AUTO_WORKERS, _cpu_count())

    def buffered_segments(self, batch_size: int, device_type: str = "cuda") -> int:
        if self.prefetch_segments is not None:
            if self.prefetch_segments < 1:
                raise ValueError(f"prefetch_segments must be >= 1, not {self.prefetch_segments}")
            return self.prefetch_segments
        return 2 * batch_size + self.workers(device_type)


@dataclass
class RecordingOutcome:
    recording_id: str
    ok: bool
    path: Path | None = None
    n_segments: int = 0
    error: str | None = None
    skipped_existing: bool = False
    output_key: str | None = None


def embedding_path(out_dir: Path, recording_id: str) -> Path:
    """Where the file of `recording_id` (or of an output key) lives."""
    return Path(out_dir) / f"{validate_key(recording_id)}.safetensors"


@dataclass
class _Open:
    """A recording whose windows are being read or embedded."""

    position: int
    recording: RecordingAudio
    path: Path
    provenance: dict[str, str]
    segments: list[Segment] = field(default_factory=list)
    tensors: dict[int, torch.Tensor] = field(default_factory=dict)
    read_done: bool = False
    failed: str | None = None


class _ModelLoop:
    """Batches windows across recordings, runs the model, hands finished recordings to the writer.

    A batch holds windows of one length. Full-length windows wait until `batch_size` of them
    are queued, across recordings; other lengths (a recording's tail, a given table's odd
    windows) go as soon as their recording is read, or when more than a batch of them waits.
    These rules look at the window sequence alone, never at timing, so the numbers do not
    depend on the decode workers. One batch stays in flight while the next is gathered, so on
    CUDA the host prepares batch k+1 while the device computes batch k. Runs in the caller's
    thread; only it reports progress.
    """

    def __init__(
        self,
        recordings: Sequence[RecordingAudio],
        out_dir: Path,
        embedder: Embedder,
        batch_size: int,
        window_samples: int,
        writer: StoreWriter,
        outcomes: list[RecordingOutcome | None],
        say: Callable[[str], None],
    ) -> None:
        self.recordings = recordings
        self.window_samples = window_samples
        self.out_dir = out_dir
        self.embedder = embedder
        self.batch_size = batch_size
        self.writer = writer
        self.outcomes = outcomes
        self.say = say
        self.open: dict[int, _Open] = {}
        # Windows waiting for the model, by length (insertion order: the first length first).
        self.queues: dict[int, list[tuple[_Open, int, np.ndarray]]] = {}
        self.in_flight: list[tuple[BatchResult, list[tuple[_Open, int]]]] = []
        self.writing: dict[int, int] = {}  # position → segment count, while its file is written

    # -- events from the decode workers, in the recordings' order ------------------------------

    def handle(self, position: int, event: Event) -> None:
        recording = self.recordings[position]
        rid, key = recording.recording_id, recording.key
        progress = f"({position + 1}/{len(self.recordings)})"
        if isinstance(event, Window):
            item = self.open[position]
            item.segments.append(event.segment)
            length = len(event.wave)
            queue = self.queues.setdefault(length, [])
            queue.append((item, event.segment.index, event.wave))
            if len(queue) >= self.batch_size:
                self.flush([length])
            elif length != self.window_samples and self._odd_waiting() > self.batch_size:
                self.flush(self._odd_lengths())
        elif isinstance(event, Started):
            path = embedding_path(self.out_dir, key)
            self.open[position] = _Open(position, recording, path, event.provenance)
        elif isinstance(event, Finished):
            item = self.open[position]
            item.read_done = True
            self.say(f"{rid}: {len(item.segments)} segments queued {progress}")
            self.flush(self._odd_lengths())  # its tail waits for no other recording
            self.finish_ready()
        elif isinstance(event, Skipped):
            self.outcomes[position] = RecordingOutcome(
                rid,
                ok=True,
                path=embedding_path(self.out_dir, key),
                n_segments=event.n_segments,
                skipped_existing=True,
                output_key=key,
            )
            self.say(f"{rid}: up to date, skipped {progress}")
        elif isinstance(event, Failed):
            failing = self.open.get(position)
            if failing is None:
                self._failed(position, event.error)
            else:
                failing.failed = event.error
                for length, queue in list(self.queues.items()):
                    self.queues[length] = [entry for entry in queue if entry[0] is not failing]
                self.finish_ready()

    def _failed(self, position: int, error: str) -> None:
        recording = self.recordings[position]
        self.outcomes[position] = RecordingOutcome(
            recording.recording_id, ok=False, error=error, output_key=recording.key
        )
        self.say(f"{recording.recording_id}: FAILED: {error}")

    # -- the model --------------------------------------------------------------------------

    def _odd_lengths(self) -> list[int]:
        return [length for length in self.queues if length != self.window_samples]

    def _odd_waiting(self) -> int:
        return sum(len(self.queues[length]) for length in self._odd_lengths())

    def flush(self, lengths: list[int] | None = None) -> None:
        """Submit the queued windows of `lengths` (all when None), then collect older batches."""
        for length in list(self.queues) if lengths is None else lengths:
            entries = self.queues.pop(length, [])
            if not entries:
                continue
            owners = [(item, index) for item, index, _ in entries]
            try:
                result = self.embedder.submit([wave for _, _, wave in entries], STORE_DTYPE)
            except Exception as err:  # fails the recordings in the batch
                self._fail_batch(owners, err)
                continue
            self.in_flight.append((result, owners))
        self.collect(keep=1)

    def collect(self, keep: int = 0) -> None:
        """Take the outputs of all but the newest `keep` in-flight batches."""
        while len(self.in_flight) > keep:
            result, owners = self.in_flight.pop(0)
            try:
                tensors = result.result()
            except Exception as err:  # fails the recordings in the batch
                self._fail_batch(owners, err)
                continue
            for (item, index), tensor in zip(owners, tensors, strict=True):
                item.tensors[index] = tensor
        self.finish_ready()

    def _fail_batch(self, owners: list[tuple[_Open, int]], err: Exception) -> None:
        for item, _ in owners:
            if item.failed is None:
                item.failed = f"{item.recording.audio_path}: MuQ forward failed: {err}"

    # -- finished recordings ----------------------------------------------------------------

    def finish_ready(self) -> None:
        for position, item in list(self.open.items()):
            if item.failed is not None:
                del self.open[position]
                self._failed(position, item.failed)
            elif item.read_done and len(item.tensors) == len(item.segments):
                del self.open[position]
                rid = item.recording.recording_id
                rec = RecordingEmbeddings(rid, item.segments, item.provenance)
                ordered = [item.tensors[i] for i in range(len(item.segments))]
                if self.embedder.pooling == "none":
                    rec.frames = ordered
                else:
                    rec.pooled = torch.stack(ordered)
                self.writing[position] = len(ordered)
                self.writer.submit(position, item.path, rec)
        self.report_writes(self.writer.completed())

    def report_writes(self, writes: list[WriteDone]) -> None:
        for done in writes:
            position = int(done.token)  # type: ignore[call-overload]
            count = self.writing.pop(position)
            if done.error is not None:
                self._failed(position, done.error)
                continue
            recording = self.recordings[position]
            self.outcomes[position] = RecordingOutcome(
                recording.recording_id,
                ok=True,
                path=done.path,
                n_segments=count,
                output_key=recording.key,
            )
            self.say(f"{recording.recording_id}: {count} segments embedded -> {done.path.name}")


def _plan_jobs(
    recordings: Sequence[RecordingAudio],
    embedder: Embedder,
    out_dir: Path,
    policy: SegmentPolicy,
    config: EngineConfig,
    outcomes: list[RecordingOutcome | None],
    say: Callable[[str], None],
) -> list[tuple[int, ReadJob]]:
    """One read job per recording; unusable keys and duplicate outputs fail here, alone."""
    base = {**embedder.provenance(), **code_provenance()}
    jobs: list[tuple[int, ReadJob]] = []
    taken: dict[str, str] = {}
    for position, recording in enumerate(recordings):
        rid, key = recording.recording_id, recording.key
        try:
            validate_key(rid)
            path = embedding_path(out_dir, key)
        except UnsafeNameError as err:
            outcomes[position] = RecordingOutcome(rid, ok=False, error=str(err), output_key=key)
            say(f"{rid}: FAILED: {err}")
            continue
        if key in taken:
            error = (
                f"recording {rid}: output key {key!r} is already used by recording "
                f"{taken[key]} in this run; give each output its own output_key"
            )
            outcomes[position] = RecordingOutcome(rid, ok=False, error=error, output_key=key)
            say(f"{rid}: FAILED: {error}")
            continue
        taken[key] = rid
        jobs.append((position, ReadJob(recording, path, policy, base, config.direct_wav)))
    return jobs


def embed_recordings(
    recordings: Sequence[RecordingAudio],
    embedder: Embedder,
    out_dir: Path,
    policy: SegmentPolicy,
    progress: Callable[[str], None] | None = None,
    config: EngineConfig | None = None,
) -> list[RecordingOutcome]:
    """Embed each recording into `out_dir/<output key>.safetensors`; one outcome per recording.

    Outcomes come back in the order of `recordings`. A failure (missing, corrupt, silent or
    too short audio, a segment table that does not fit, a failing transform or write) fails
    that recording alone, with a message naming its file.
    """
    config = config or EngineConfig()
    say = progress or (lambda _message: None)
    outcomes: list[RecordingOutcome | None] = [None] * len(recordings)
    jobs = _plan_jobs(recordings, embedder, out_dir, policy, config, outcomes, say)
    window = policy.window_samples(SAMPLE_RATE)
    batch_size = embedder.batch_size_for(window)
    writer = StoreWriter(background=config.background_writes)
    loop = _ModelLoop(
        recordings, Path(out_dir), embedder, batch_size, window, writer, outcomes, say
    )
    events = ordered_prefetch(
        [functools.partial(_read_tagged, position, job) for position, job in jobs],
        workers=config.workers(embedder.device.type),
        max_buffered=config.buffered_segments(batch_size, embedder.device.type),
        counts=lambda tagged: isinstance(tagged[1], Window),
        name="piano-assets-decode",
    )
    try:
        for position, event in events:
            loop.handle(position, event)
        loop.flush()
        loop.collect()
    finally:
        events.close()
        loop.report_writes(writer.close())
    lost = [i for i, outcome in enumerate(outcomes) if outcome is None]
    if lost:  # a bug, never a silent gap in the results
        raise RuntimeError(f"engine lost track of recordings at positions {lost}")
    return [outcome for outcome in outcomes if outcome is not None]


def _read_tagged(position: int, job: ReadJob) -> Iterator[tuple[int, Event]]:
    for event in read_recording(job):
        yield position, event
