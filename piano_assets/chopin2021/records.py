"""What the tier writes: `metadata.jsonl` (one line per segment) and `results.jsonl` (one line per
performer), as pydantic models, with atomic writers and readers that validate. Dagster-free.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from piano_assets.chopin2021.catalog import RecordingSpec
from piano_assets.chopin2021.results import (
    ROUND_ORDER,
    CompetitionResults,
    PerformerResult,
    Placement,
    Round,
)
from piano_assets.engine.segment import segment_id as engine_segment_id


class ResultRecord(BaseModel):
    """One line of `results.jsonl`: one performer of the 2021 competition."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    performer: str
    country: str
    furthest_round: Round
    placement: Placement
    prize: str | None = Field(description="Exactly as announced, e.g. '2nd Prize ex aequo'.")
    ordinal: int = Field(description="10 = 1st prize … 4 = finalist … 1 = stage I, 0 = prelim.")
    laureate: bool
    special_prizes: list[str] = Field(default_factory=list)
    repertoire: dict[Round, list[str]] = Field(default_factory=dict)
    aliases: list[str] = Field(default_factory=list)
    source: str = Field(description="'site' (parsed from the official pages) or 'curated'.")
    citations: list[str] = Field(default_factory=list, description="URLs backing the facts.")
    note: str | None = None

    @classmethod
    def from_result(
        cls, performer: PerformerResult, *, source: str, citations: Sequence[str]
    ) -> ResultRecord:
        facts = performer.model_dump(exclude={"name"})  # with placement, ordinal, laureate
        return cls.model_validate(
            {**facts, "performer": performer.name, "source": source, "citations": list(citations)}
        )


class SegmentProvenance(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    video_id: str
    video_title: str
    results_source: str
    results_citations: list[str] = Field(default_factory=list)
    audio_sha256: str | None = None
    source_sha256: str | None = Field(
        default=None, description="Hash of the downloaded file the 24 kHz WAV came from."
    )
    model_id: str | None = None
    embedder: str = Field(description="Embedder label; random-weight MuQ says so.")
    embedder_is_random: bool


class SegmentRecord(BaseModel):
    """One line of `metadata.jsonl`: one 30 s segment of one competition recording."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    segment_id: str
    recording_id: str
    segment_index: int = Field(ge=0)
    performer: str
    country: str
    piece: str
    round: Round
    placement: Placement
    ordinal: int
    prize: str | None
    segment_start: float = Field(ge=0, description="Seconds from the start of the recording.")
    segment_end: float = Field(gt=0)
    source_url: str
    embedding_file: str = Field(description="Relative to the chopin2021 folder.")
    provenance: SegmentProvenance


def segment_id(recording_id: str, index: int) -> str:
    """The engine's segment id, so metadata lines and embedding files name segments alike."""
    return engine_segment_id(recording_id, index)


def piece_label(spec: RecordingSpec, performer: PerformerResult | None) -> str:
    """The work of a recording: from the title, else the repertoire the results give for that
    round, else the round's recital ('stage I recital')."""
    if spec.piece:
        return spec.piece
    if performer is not None and performer.repertoire.get(spec.round):
        return "; ".join(performer.repertoire[spec.round])
    return f"{spec.round.label} recital"


def segment_records(
    spec: RecordingSpec,
    performer: PerformerResult | None,
    segments: Iterable[tuple[int, float, float]],
    *,
    embedding_file: str,
    provenance: SegmentProvenance,
) -> list[SegmentRecord]:
    """The metadata lines of one recording, one per (index, start, end) segment."""
    piece = piece_label(spec, performer)
    return [
        SegmentRecord(
            segment_id=segment_id(spec.recording_id, index),
            recording_id=spec.recording_id,
            segment_index=index,
            performer=spec.performer,
            country=spec.country,
            piece=piece,
            round=spec.round,
            placement=performer.placement if performer else spec.placement,
            ordinal=performer.ordinal if performer else spec.ordinal,
            prize=performer.prize if performer else spec.prize,
            segment_start=round(start, 3),
            segment_end=round(end, 3),
            source_url=spec.source_url,
            embedding_file=embedding_file,
            provenance=provenance,
        )
        for index, start, end in segments
    ]


# -- yield figures -----------------------------------------------------------------------------


def yield_table(segments: Sequence[SegmentRecord], results: CompetitionResults) -> pl.DataFrame:
    """Per round: performers who reached it (results), and performers, recordings, segments and
    hours in the metadata."""
    reached = results.counts_by_round()
    frame = pl.DataFrame(
        {
            "round": [s.round.value for s in segments],
            "performer": [s.performer for s in segments],
            "recording_id": [s.recording_id for s in segments],
            "seconds": [s.segment_end - s.segment_start for s in segments],
        },
        schema={
            "round": pl.String,
            "performer": pl.String,
            "recording_id": pl.String,
            "seconds": pl.Float64,
        },
    )
    stats = frame.group_by("round").agg(
        pl.col("performer").n_unique().alias("performers"),
        pl.col("recording_id").n_unique().alias("recordings"),
        pl.len().alias("segments"),
        (pl.col("seconds").sum() / 3600).round(3).alias("hours"),
    )
    rounds = pl.DataFrame(
        {
            "round": [r.value for r in ROUND_ORDER],
            "reached_in_results": [reached[r] for r in ROUND_ORDER],
        }
    )
    return (
        rounds.join(stats, on="round", how="left")
        .with_columns(
            pl.col("performers", "recordings", "segments").fill_null(0).cast(pl.Int64),
            pl.col("hours").fill_null(0.0),
        )
        .select("round", "reached_in_results", "performers", "recordings", "segments", "hours")
    )
