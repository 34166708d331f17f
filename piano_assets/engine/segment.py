"""Fixed windows over a recording, and the segment table that describes them. Dagster-free."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, TypeAdapter

from piano_assets.engine.files import atomic_write_text, validate_key


@dataclass(frozen=True)
class SegmentPolicy:
    """Windows of `segment_seconds`, back to back, from the start of the recording.

    Tail policy: the remainder after the last full window is kept as a shorter final segment
    when it lasts at least `min_tail_seconds`, and dropped otherwise. A recording shorter than
    one window but at least `min_tail_seconds` long gives one short segment.
    """

    segment_seconds: float = 30.0
    min_tail_seconds: float = 5.0

    def __post_init__(self) -> None:
        if self.segment_seconds <= 0 or self.min_tail_seconds < 0:
            raise ValueError(f"invalid segment policy {self}")


class Segment(BaseModel):
    segment_id: str
    recording_id: str
    index: int
    start_s: float
    end_s: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


_SEGMENTS = TypeAdapter(list[Segment])


def segment_id(recording_id: str, index: int) -> str:
    return f"{recording_id}_seg{index:03d}"


def plan_segments(recording_id: str, duration_s: float, policy: SegmentPolicy) -> list[Segment]:
    validate_key(recording_id)
    segments: list[Segment] = []
    start = 0.0
    index = 0
    while start < duration_s:
        end = min(start + policy.segment_seconds, duration_s)
        is_full = end - start >= policy.segment_seconds - 1e-9
        if not is_full and end - start < policy.min_tail_seconds:
            break
        segments.append(
            Segment(
                segment_id=segment_id(recording_id, index),
                recording_id=recording_id,
                index=index,
                start_s=round(start, 6),
                end_s=round(end, 6),
            )
        )
        index += 1
        start = end
    return segments


def write_segment_table(path: Path, segments: list[Segment]) -> None:
    atomic_write_text(path, _SEGMENTS.dump_json(segments, indent=1).decode() + "\n")


def read_segment_table(path: Path) -> list[Segment]:
    try:
        return _SEGMENTS.validate_json(Path(path).read_bytes())
    except (OSError, ValueError) as err:
        raise ValueError(f"{path}: not a valid segment table: {err}") from err


def segments_to_json(segments: list[Segment]) -> str:
    return json.dumps([s.model_dump() for s in segments])


def segments_from_json(text: str) -> list[Segment]:
    return _SEGMENTS.validate_json(text)
