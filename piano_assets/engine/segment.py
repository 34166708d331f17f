"""Fixed windows over a recording, and the segment table that describes them. Dagster-free."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, TypeAdapter

from piano_assets.engine.files import atomic_write_text, validate_key


@dataclass(frozen=True)
class SegmentPolicy:
    """Windows of `segment_seconds`, back to back from the start, no overlap.

    Tail policy: what remains after the last full window is kept as a shorter final segment
    when it lasts at least `min_tail_seconds`, and dropped otherwise (MuQ gives 25 frames per
    second, so a 5 s tail still yields 125 frames). A recording shorter than one window but at
    least `min_tail_seconds` long gives one short segment; a shorter one gives none. Set
    `min_tail_seconds = segment_seconds` to keep full windows only, or 0 to keep every tail.
    """

    segment_seconds: float = 30.0
    min_tail_seconds: float = 5.0

    def __post_init__(self) -> None:
        if self.segment_seconds <= 0 or not 0 <= self.min_tail_seconds <= self.segment_seconds:
            raise ValueError(
                f"invalid segment policy {self}: need segment_seconds > 0 and "
                "0 <= min_tail_seconds <= segment_seconds"
            )

    def window_samples(self, sample_rate: int) -> int:
        return max(1, round(self.segment_seconds * sample_rate))

    def keeps(self, samples: int, sample_rate: int) -> bool:
        """Whether a window of `samples` (full, or the tail) becomes a segment."""
        if samples <= 0:
            return False
        if samples >= self.window_samples(sample_rate):
            return True
        return samples >= round(self.min_tail_seconds * sample_rate)


class Segment(BaseModel):
    """One row of a segment table."""

    model_config = ConfigDict(frozen=True)

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


def make_segment(
    recording_id: str, index: int, start_sample: int, end_sample: int, sample_rate: int
) -> Segment:
    return Segment(
        segment_id=segment_id(recording_id, index),
        recording_id=recording_id,
        index=index,
        start_s=round(start_sample / sample_rate, 6),
        end_s=round(end_sample / sample_rate, 6),
    )


def plan_spans(
    total_samples: int, policy: SegmentPolicy, sample_rate: int
) -> list[tuple[int, int]]:
    """The windows `(start, end)` in samples that `policy` keeps from `total_samples`."""
    window = policy.window_samples(sample_rate)
    spans: list[tuple[int, int]] = []
    for start in range(0, total_samples, window):
        end = min(start + window, total_samples)
        if not policy.keeps(end - start, sample_rate):
            break
        spans.append((start, end))
    return spans


def plan_segments(
    recording_id: str, duration_s: float, policy: SegmentPolicy, sample_rate: int = 24_000
) -> list[Segment]:
    """The segment table for a recording of `duration_s`, without reading audio.

    Counts in samples at `sample_rate`, exactly as the streaming engine cuts, so the plan
    equals what `embed_recordings` stores for the same file.
    """
    validate_key(recording_id)
    spans = plan_spans(round(duration_s * sample_rate), policy, sample_rate)
    return [
        make_segment(recording_id, index, start, end, sample_rate)
        for index, (start, end) in enumerate(spans)
    ]


def segment_span(segment: Segment, sample_rate: int) -> tuple[int, int]:
    """A segment's `(start, end)` in samples (the table's seconds are rounded to 1 µs)."""
    return round(segment.start_s * sample_rate), round(segment.end_s * sample_rate)


def segments_to_json(segments: list[Segment]) -> str:
    return _SEGMENTS.dump_json(segments).decode()


def segments_from_json(text: str | bytes) -> list[Segment]:
    return _SEGMENTS.validate_json(text)


def write_segment_table(path: Path, segments: list[Segment]) -> None:
    atomic_write_text(path, _SEGMENTS.dump_json(segments, indent=1).decode() + "\n")


def read_segment_table(path: Path) -> list[Segment]:
    path = Path(path)
    try:
        return _SEGMENTS.validate_json(path.read_bytes())
    except (OSError, ValueError) as err:
        raise ValueError(f"{path}: not a valid segment table: {err}") from err
