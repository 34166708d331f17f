"""The shared path of every tier: audio → 30 s segments → MuQ in batches → one file per recording.

Segments are streamed (memory bounded by a batch, whatever the recording's length) and batched
across recordings. One bad recording fails alone; a finished file with the same provenance
is skipped, so re-runs finish what a crash left. Dagster-free.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from piano_assets import __version__
from piano_assets.engine.audio import SAMPLE_RATE, AudioError, stream_audio
from piano_assets.engine.embed import Embedder
from piano_assets.engine.files import sha256_file, validate_key
from piano_assets.engine.segment import Segment, SegmentPolicy, make_segment
from piano_assets.engine.store import (
    RecordingEmbeddings,
    load_segments,
    read_provenance,
    save_recording_embeddings,
)


@dataclass(frozen=True)
class RecordingAudio:
    recording_id: str
    audio_path: Path
    extra_provenance: dict[str, str] = field(default_factory=dict)


@dataclass
class RecordingOutcome:
    recording_id: str
    ok: bool
    path: Path | None = None
    n_segments: int = 0
    error: str | None = None
    skipped_existing: bool = False


def embedding_path(out_dir: Path, recording_id: str) -> Path:
    return Path(out_dir) / f"{validate_key(recording_id)}.safetensors"


def expected_provenance(
    recording: RecordingAudio, embedder: Embedder, policy: SegmentPolicy, audio_sha256: str
) -> dict[str, str]:
    return {
        **embedder.provenance(),
        **recording.extra_provenance,
        "recording_id": recording.recording_id,
        "audio_sha256": audio_sha256,
        "sample_rate": str(SAMPLE_RATE),
        "segment_seconds": str(policy.segment_seconds),
        "min_tail_seconds": str(policy.min_tail_seconds),
        "code_version": __version__,
    }


@dataclass
class _Pending:
    recording: RecordingAudio
    provenance: dict[str, str]
    segments: list[Segment] = field(default_factory=list)
    tensors: dict[int, torch.Tensor] = field(default_factory=dict)
    stream_done: bool = False
    failed: str | None = None


def _segments_of(recording: RecordingAudio, policy: SegmentPolicy):
    """Yield (Segment, wave) per window, streaming; the policy decides the tail, in samples,
    exactly as `plan_segments` does."""
    start = 0
    blocks = stream_audio(recording.audio_path, SAMPLE_RATE, policy.segment_seconds)
    for index, block in enumerate(blocks):
        if not policy.keeps(len(block), SAMPLE_RATE):
            break
        end = start + len(block)
        yield make_segment(recording.recording_id, index, start, end, SAMPLE_RATE), block
        start = end


def embed_recordings(
    recordings: Sequence[RecordingAudio],
    embedder: Embedder,
    out_dir: Path,
    policy: SegmentPolicy,
    progress: Callable[[str], None] | None = None,
) -> list[RecordingOutcome]:
    say = progress or (lambda _message: None)
    outcomes: dict[str, RecordingOutcome] = {}
    queue: list[tuple[_Pending, int, np.ndarray]] = []
    open_items: list[_Pending] = []

    def flush() -> None:
        if not queue:
            return
        batch = list(queue)
        queue.clear()
        try:
            tensors = embedder.embed([wave for _, _, wave in batch])
        except Exception as err:  # a model failure fails the recordings in the batch
            for item, _, _ in batch:
                item.failed = f"MuQ forward failed: {err}"
            return
        for (item, index, _), tensor in zip(batch, tensors, strict=True):
            item.tensors[index] = tensor

    def finish_ready() -> None:
        for item in list(open_items):
            rid = item.recording.recording_id
            if item.failed is not None:
                outcomes[rid] = RecordingOutcome(rid, ok=False, error=item.failed)
                open_items.remove(item)
            elif item.stream_done and len(item.tensors) == len(item.segments):
                path = embedding_path(out_dir, rid)
                rec = RecordingEmbeddings(rid, item.segments, item.provenance)
                ordered = [item.tensors[i] for i in range(len(item.segments))]
                if embedder.pooling == "none":
                    rec.frames = ordered
                else:
                    rec.pooled = torch.stack(ordered) if ordered else torch.zeros(0, 0)
                save_recording_embeddings(path, rec)
                outcomes[rid] = RecordingOutcome(rid, ok=True, path=path, n_segments=len(ordered))
                say(f"{rid}: {len(ordered)} segments embedded -> {path.name}")
                open_items.remove(item)

    for number, recording in enumerate(recordings, start=1):
        rid = recording.recording_id
        try:
            path = embedding_path(out_dir, rid)
            if not Path(recording.audio_path).exists():
                raise AudioError(f"{recording.audio_path}: audio file not found for {rid}")
            provenance = expected_provenance(
                recording, embedder, policy, sha256_file(recording.audio_path)
            )
            if path.exists():
                try:
                    if read_provenance(path) == provenance:
                        done = len(load_segments(path))
                        outcomes[rid] = RecordingOutcome(
                            rid, ok=True, path=path, n_segments=done, skipped_existing=True
                        )
                        say(f"{rid}: up to date, skipped ({number}/{len(recordings)})")
                        continue
                except (ValueError, OSError):
                    pass  # unreadable or foreign file: recompute and replace it
            item = _Pending(recording, provenance)
            open_items.append(item)
            for segment, wave in _segments_of(recording, policy):
                item.segments.append(segment)
                queue.append((item, segment.index, wave))
                if len(queue) >= embedder.batch_size:
                    flush()
                    finish_ready()
            if not item.segments:
                raise AudioError(
                    f"{recording.audio_path}: too short for one segment "
                    f"(< {policy.min_tail_seconds} s)"
                )
            item.stream_done = True
        except (AudioError, ValueError, OSError) as err:
            outcomes[rid] = RecordingOutcome(rid, ok=False, error=str(err))
            queue[:] = [entry for entry in queue if entry[0].recording.recording_id != rid]
            open_items[:] = [it for it in open_items if it.recording.recording_id != rid]
            say(f"{rid}: FAILED: {err}")
            continue
        say(f"{rid}: {len(item.segments)} segments queued ({number}/{len(recordings)})")
        finish_ready()
    flush()
    finish_ready()
    return [outcomes[r.recording_id] for r in recordings]
