"""One safetensors file per recording: embeddings, the segment table and provenance.

Layout of `<recording_id>.safetensors` (format `piano-assets-embeddings/1`):
* unpooled: `frames` [total_frames, dim] (segments back to back) and `frame_offsets`
  [n_segments + 1] (int64; segment i is `frames[offsets[i]:offsets[i+1]]`);
* pooled: `pooled` [n_segments, dim or 2*dim].
Embeddings are stored as float16 (what is stored round-trips bit-exactly; the provenance's
`dtype` says so, `compute_dtype` says what the model computed in). The header's metadata holds
`provenance` and `segments` as JSON. Dagster-free.
"""

from __future__ import annotations

import itertools
import json
import queue
import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, safe_open

from piano_assets.engine.files import atomic_path, is_temporary
from piano_assets.engine.segment import Segment, segments_from_json, segments_to_json

FORMAT = "piano-assets-embeddings/1"
STORE_DTYPE = torch.float16
# safetensors' names of the dtypes this store writes.
_SAFETENSORS_DTYPES = {
    torch.float16: "F16",
    torch.bfloat16: "BF16",
    torch.float32: "F32",
    torch.int64: "I64",
}


@dataclass
class RecordingEmbeddings:
    recording_id: str
    segments: list[Segment]
    provenance: dict[str, str]
    frames: list[torch.Tensor] = field(default_factory=list)  # per segment [frames, dim]
    pooled: torch.Tensor | None = None  # [n_segments, D] when pooled

    def segment(self, index: int) -> torch.Tensor:
        return self.pooled[index] if self.pooled is not None else self.frames[index]

    def by_segment_id(self) -> dict[str, torch.Tensor]:
        return {seg.segment_id: self.segment(i) for i, seg in enumerate(self.segments)}


def save_recording_embeddings(path: Path, rec: RecordingEmbeddings) -> None:
    if rec.pooled is not None:
        tensors = {"pooled": rec.pooled.to(STORE_DTYPE).contiguous()}
    else:
        lengths = [int(t.shape[0]) for t in rec.frames]
        offsets = torch.tensor([0, *torch.tensor(lengths).cumsum(0).tolist()], dtype=torch.int64)
        frames = torch.cat(rec.frames) if rec.frames else torch.zeros(0, 0)
        tensors = {"frames": frames.to(STORE_DTYPE).contiguous(), "frame_offsets": offsets}
    metadata = {
        "format": FORMAT,
        "recording_id": rec.recording_id,
        "provenance": json.dumps(rec.provenance, sort_keys=True),
        "segments": segments_to_json(rec.segments),
    }
    with atomic_path(Path(path)) as tmp:
        write_safetensors(tmp, tensors, metadata)


def write_safetensors(
    path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str]
) -> None:
    """A safetensors file whose bytes depend only on the tensors and the metadata.

    The safetensors library writes its header from a hash map, so the same content gives
    different bytes from one call to the next; here the header's keys are sorted, which makes
    "the same output" checkable byte for byte. Tensors are laid out widest dtype first (then by
    name), so each one is aligned, as the library does.
    """
    ordered = sorted(tensors.items(), key=lambda item: (-item[1].element_size(), item[0]))
    header: dict[str, object] = {"__metadata__": dict(sorted(metadata.items()))}
    arrays: list[np.ndarray] = []
    offset = 0
    for name, tensor in ordered:
        if tensor.dtype not in _SAFETENSORS_DTYPES:
            raise ValueError(f"cannot store tensor {name!r} of dtype {tensor.dtype}")
        data = tensor.detach().cpu().contiguous()
        if data.dtype == torch.bfloat16:  # numpy has no bfloat16: write its bits
            data = data.view(torch.int16)
        array = data.numpy()
        array = array.astype(array.dtype.newbyteorder("<"), copy=False)  # the format's order
        header[name] = {
            "dtype": _SAFETENSORS_DTYPES[tensor.dtype],
            "shape": list(tensor.shape),
            "data_offsets": [offset, offset + array.nbytes],
        }
        arrays.append(array)
        offset += array.nbytes
    text = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # the data starts 8-byte aligned
    with open(path, "wb") as handle:
        handle.write(struct.pack("<Q", len(text)))
        handle.write(text)
        for array in arrays:
            handle.write(array.reshape(-1).data.cast("B"))


def read_store_metadata(path: Path) -> dict[str, str]:
    """Header metadata only (cheap: no tensor is read)."""
    with safe_open(str(path), framework="pt") as handle:
        metadata = handle.metadata() or {}
    if metadata.get("format") != FORMAT:
        raise ValueError(f"{path}: not a {FORMAT} file")
    return metadata


def read_provenance(path: Path) -> dict[str, str]:
    return json.loads(read_store_metadata(path)["provenance"])


def load_segments(path: Path) -> list[Segment]:
    """The stored segment table only (cheap)."""
    return segments_from_json(read_store_metadata(path)["segments"])


def load_recording_embeddings(path: Path) -> RecordingEmbeddings:
    """Load one recording's embeddings for training code."""
    metadata = read_store_metadata(path)
    tensors = load_file(str(path))
    rec = RecordingEmbeddings(
        recording_id=metadata["recording_id"],
        segments=segments_from_json(metadata["segments"]),
        provenance=json.loads(metadata["provenance"]),
    )
    if "pooled" in tensors:
        rec.pooled = tensors["pooled"]
    else:
        offsets = tensors["frame_offsets"].tolist()
        rec.frames = [tensors["frames"][a:b] for a, b in itertools.pairwise(offsets)]
    if len(rec.segments) != (len(rec.frames) if rec.pooled is None else rec.pooled.shape[0]):
        raise ValueError(f"{path}: segment table and embeddings disagree in length")
    return rec


def iter_embedding_store(directory: Path) -> Iterator[RecordingEmbeddings]:
    for path in sorted(Path(directory).glob("*.safetensors")):
        if not is_temporary(path):
            yield load_recording_embeddings(path)


def to_t1_cache(records: list[RecordingEmbeddings], path: Path) -> None:
    """Write the T1 format: one `.pt` dict {segment_id: tensor} (loads with weights_only=True)."""
    merged: dict[str, torch.Tensor] = {}
    for rec in records:
        merged.update({key: t.clone() for key, t in rec.by_segment_id().items()})
    with atomic_path(Path(path)) as tmp:
        torch.save(merged, tmp)


def from_t1_cache(path: Path) -> dict[str, torch.Tensor]:
    data = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(data, dict) or not all(isinstance(v, torch.Tensor) for v in data.values()):
        raise ValueError(f"{path}: not a T1 cache (a dict of segment key -> tensor)")
    return data


@dataclass(frozen=True)
class WriteDone:
    """A finished (or failed) write, reported back to the thread that submitted it."""

    token: object
    path: Path
    error: str | None


class StoreWriter:
    """Writes recordings' files on one background thread, in the order submitted.

    The model's loop hands a finished recording over and goes on; at most `max_pending`
    recordings wait (the loop blocks beyond that, so memory stays bounded). A failed write
    (disk full, permissions) is reported for that recording alone. `background=False` writes
    in the calling thread: the same bytes either way.
    """

    def __init__(self, background: bool = True, max_pending: int = 2) -> None:
        self._done: queue.SimpleQueue[WriteDone] = queue.SimpleQueue()
        self._todo: queue.Queue[tuple[object, Path, RecordingEmbeddings] | None] | None = None
        self._thread: threading.Thread | None = None
        if background:
            self._todo = queue.Queue(maxsize=max(1, max_pending))
            self._thread = threading.Thread(
                target=self._run, name="piano-assets-store-writer", daemon=True
            )
            self._thread.start()

    def _write(self, token: object, path: Path, rec: RecordingEmbeddings) -> None:
        try:
            save_recording_embeddings(path, rec)
        except Exception as err:  # reported as that recording's failure
            self._done.put(WriteDone(token, path, f"{path}: cannot write embeddings: {err}"))
        else:
            self._done.put(WriteDone(token, path, None))

    def _run(self) -> None:
        assert self._todo is not None  # noqa: S101 - set whenever the thread runs
        while (job := self._todo.get()) is not None:
            self._write(*job)

    def submit(self, token: object, path: Path, rec: RecordingEmbeddings) -> None:
        if self._todo is None:
            self._write(token, path, rec)
        else:
            self._todo.put((token, path, rec))

    def completed(self) -> list[WriteDone]:
        """Writes finished since the last call (never blocks)."""
        done: list[WriteDone] = []
        while True:
            try:
                done.append(self._done.get_nowait())
            except queue.Empty:
                return done

    def close(self) -> list[WriteDone]:
        """Finish every submitted write; the ones not reported yet."""
        if self._thread is not None and self._todo is not None:
            self._todo.put(None)
            self._thread.join()
            self._thread = None
        return self.completed()
