"""What T4 writes: `metadata.jsonl` (one line per clean segment) and the pairs table (Parquet,
one row per clean/augmented pair), as pydantic models with atomic writers and validating
readers. Dagster-free.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from piano_assets.engine.files import atomic_path
from piano_assets.engine.segment import Segment
from piano_assets.lib.jsonl import read_jsonl, write_jsonl
from piano_assets.youtube_piano.augment import AugmentationRecord
from piano_assets.youtube_piano.catalog import KeptVideo

__all__ = [
    "PAIRS_SCHEMA",
    "PairRow",
    "RecordsError",
    "SegmentMetadata",
    "metadata_rows",
    "pair_rows",
    "read_metadata",
    "read_pairs",
    "write_metadata",
    "write_pairs",
]


class RecordsError(ValueError):
    """A T4 output file does not hold valid records; the message names the file and row."""


class SegmentMetadata(BaseModel):
    """One line of `model/data/youtube_piano_cache/metadata.jsonl`: one clean segment."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    segment_id: str
    recording_id: str
    segment_index: int = Field(ge=0)
    start_s: float = Field(ge=0)
    end_s: float
    video_id: str
    channel: str = Field(description="The channel's key in the channel list.")
    channel_name: str
    title: str
    url: str
    upload_date: str | None = None
    embedding_file: str = Field(description="Relative to the cache folder.")
    augmented_versions: int = Field(ge=0)
    provenance: dict[str, str] = Field(
        description="The embedding file's provenance (model, random_weights, audio sha256 …)."
    )

    @model_validator(mode="after")
    def _times_ordered(self) -> SegmentMetadata:
        if self.end_s <= self.start_s:
            raise ValueError(f"segment {self.segment_id}: end_s {self.end_s} <= start_s")
        return self

    @property
    def random_weights(self) -> bool:
        return self.provenance.get("random_weights") == "true"


def metadata_rows(
    video: KeptVideo,
    segments: Sequence[Segment],
    provenance: dict[str, str],
    embedding_file: str,
    augmented_versions: int,
) -> list[SegmentMetadata]:
    """The metadata lines of one recording, from its catalog row and stored segment table."""
    return [
        SegmentMetadata(
            segment_id=segment.segment_id,
            recording_id=video.recording_id,
            segment_index=segment.index,
            start_s=segment.start_s,
            end_s=segment.end_s,
            video_id=video.video_id,
            channel=video.channel_key,
            channel_name=video.channel_name,
            title=video.title,
            url=video.url,
            upload_date=video.upload_date,
            embedding_file=embedding_file,
            augmented_versions=augmented_versions,
            provenance=dict(provenance),
        )
        for segment in segments
    ]


def write_metadata(path: Path, rows: Iterable[SegmentMetadata]) -> int:
    """Write the jsonl atomically, sorted by segment id; returns the number of lines."""
    ordered = sorted(rows, key=lambda row: row.segment_id)
    ids = [row.segment_id for row in ordered]
    if len(set(ids)) != len(ids):
        raise RecordsError(f"{path}: a segment id appears twice")
    return write_jsonl(Path(path), ordered)


def read_metadata(path: Path) -> list[SegmentMetadata]:
    return read_jsonl(Path(path), SegmentMetadata, what="a T4 segment record", error=RecordsError)


class PairRow(BaseModel):
    """One row of the pairs table: a clean segment, one augmented version, and how it was made."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    clean_segment_id: str
    augmented_segment_id: str
    recording_id: str
    version: int = Field(ge=1)
    seed: int = Field(ge=0)
    kinds: list[str] = Field(min_length=1)
    parameters: str = Field(description="The AugmentationRecord as JSON: regenerates the pair.")

    @model_validator(mode="after")
    def _parameters_agree(self) -> PairRow:
        record = self.record()
        if (
            record.segment_id != self.clean_segment_id
            or record.augmented_segment_id != self.augmented_segment_id
            or record.version != self.version
            or record.seed != self.seed
            or record.kinds != self.kinds
        ):
            raise ValueError(f"pair {self.augmented_segment_id}: columns disagree with parameters")
        return self

    def record(self) -> AugmentationRecord:
        return AugmentationRecord.model_validate_json(self.parameters)

    @classmethod
    def from_record(cls, recording_id: str, record: AugmentationRecord) -> PairRow:
        return cls(
            clean_segment_id=record.segment_id,
            augmented_segment_id=record.augmented_segment_id,
            recording_id=recording_id,
            version=record.version,
            seed=record.seed,
            kinds=record.kinds,
            parameters=record.model_dump_json(),
        )


PAIRS_SCHEMA: dict[str, pl.DataType] = {
    "clean_segment_id": pl.String(),
    "augmented_segment_id": pl.String(),
    "recording_id": pl.String(),
    "version": pl.Int32(),
    "seed": pl.UInt64(),
    "kinds": pl.List(pl.String()),
    "parameters": pl.String(),
}


def pair_rows(recording_id: str, records: Iterable[AugmentationRecord]) -> list[PairRow]:
    return [PairRow.from_record(recording_id, record) for record in records]


def pairs_frame(rows: Sequence[PairRow]) -> pl.DataFrame:
    data = [row.model_dump() for row in rows]
    return pl.DataFrame(data, schema=PAIRS_SCHEMA) if data else pl.DataFrame(schema=PAIRS_SCHEMA)


def write_pairs(path: Path, rows: Sequence[PairRow]) -> int:
    """Write the pairs table as Parquet, atomically, sorted by augmented segment id."""
    ordered = sorted(rows, key=lambda row: row.augmented_segment_id)
    ids = [row.augmented_segment_id for row in ordered]
    if len(set(ids)) != len(ids):
        raise RecordsError(f"{path}: an augmented segment id appears twice")
    with atomic_path(Path(path)) as tmp:
        pairs_frame(ordered).write_parquet(tmp)
    return len(ordered)


def read_pairs(path: Path) -> list[PairRow]:
    """Read and validate the pairs table; a row whose columns contradict its parameters fails."""
    path = Path(path)
    try:
        frame = pl.read_parquet(path)
    except (OSError, pl.exceptions.PolarsError) as err:
        raise RecordsError(f"{path}: not a readable Parquet file: {err}") from err
    missing = set(PAIRS_SCHEMA) - set(frame.columns)
    if missing:
        raise RecordsError(f"{path}: missing columns {sorted(missing)}")
    rows = []
    for number, row in enumerate(frame.iter_rows(named=True), start=1):
        try:
            rows.append(PairRow.model_validate(row))
        except ValidationError as err:
            raise RecordsError(f"{path}: row {number}: {err}") from err
    return rows
