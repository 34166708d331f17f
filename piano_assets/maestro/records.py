"""What the MAESTRO tier writes to disk, as pydantic models (and the parquet row schemas).

Files, all under `model/data/maestro_cache/`:
    recordings.parquet + recordings.json         `maestro_recordings`: validated metadata, keyed
    audio_24k/<recording_id>.wav + .json          `maestro_audio`: 24 kHz mono + its AudioRecord
    segments/<recording_id>.json                  `maestro_segments`: the segment table
    muq_embeddings/                               `maestro_muq_embeddings`: the engine's store
    piece_performer_map.parquet + .json           `maestro_piece_performer_map`
    contrastive_pairs.parquet + .json             `maestro_contrastive_pairs`
    recordings_per_work.png                       `maestro_piece_performer_map`'s plot

Paths inside manifests are relative to the model repo root (a path outside it stays absolute).
"""

from __future__ import annotations

from pydantic import BaseModel

from piano_assets.maestro.pairs import PairPolicy, PairStats
from piano_assets.maestro.pieces import AteppJoin, PieceStats, SplitLeakage

RECORDINGS_TABLE = "recordings.parquet"
RECORDINGS_MANIFEST = "recordings.json"
AUDIO_DIR = "audio_24k"
SEGMENTS_DIR = "segments"
EMBEDDINGS_DIR = "muq_embeddings"
PIECE_MAP_TABLE = "piece_performer_map.parquet"
PIECE_MAP_MANIFEST = "piece_performer_map.json"
PAIRS_TABLE = "contrastive_pairs.parquet"
PAIRS_MANIFEST = "contrastive_pairs.json"
WORKS_PLOT = "recordings_per_work.png"


class EmbedderLabel(BaseModel):
    """Which MuQ produced the embeddings; random weights are said so, everywhere."""

    name: str
    random_weights: bool
    label: str  # e.g. "RANDOM WEIGHTS (tiny MuQ, not real embeddings)"


class RecordingsManifest(BaseModel):
    metadata_source: str  # the file (or zip member) the metadata came from
    metadata_sha256: str
    recordings: int
    hours: float
    splits: dict[str, int]


class PieceRow(BaseModel):
    """One row of `piece_performer_map.parquet` (one per recording)."""

    recording_id: str
    canonical_composer: str
    canonical_title: str
    split: str
    year: int
    duration: float
    audio_filename: str
    piece_key: str  # the lexical piece (kept for continuity; it groups nothing now)
    piece_id: str
    catalogue_ids: list[str]
    work_id: str | None  # None: unresolved (listed, never guessed)
    work_composer: str  # the composer, corrected where MAESTRO names the wrong one
    work_families: list[str]  # what a negative pair must never join
    title_scope: str  # what the title claims for the performance it belongs to
    scope: str  # the performance's scope: complete, movements:N, numbers:N, excerpt, unresolved
    scope_note: str  # why a scope was demoted (files disagree, duration off), else ""
    resolution: str  # rule | override | unresolved
    maestro_error: str | None  # the kind of MAESTRO error an override corrects
    resolution_reason: str
    citation: str | None
    session_id: str  # the source recording the file was cut from (file-name prefix)
    recital_id: str  # the performer proxy: one contestant's program in one round
    performance_id: str  # recital + work (or the piece, when unresolved)
    part_index: int  # order of this file within its performance
    performance_parts: int
    performance_seconds: float
    performer_name: str | None
    performer_source: str
    piece_performances: int
    piece_recordings: int
    piece_splits: int
    work_performers: int  # recitals that play the work
    same_year_other_contestants: int
    embedded: bool
    segments: int


class PieceMapManifest(BaseModel):
    table: str  # relative to the model repo root
    table_sha256: str
    normalization_rule: str
    performer_proxy: str
    stats: PieceStats
    leakage: SplitLeakage
    unresolved_titles: list[str]
    plot: str | None  # recordings per work (PNG), relative to the model repo root
    atepp: AteppJoin
    recordings_covered: int  # embedded recordings
    recordings_missing_embeddings: list[str]
    segments: int
    embedded_hours: float
    embedder: EmbedderLabel | None


class PairRow(BaseModel):
    """One row of `contrastive_pairs.parquet`."""

    anchor_segment_id: str
    other_segment_id: str
    label: str
    anchor_recording_id: str
    other_recording_id: str
    anchor_performance_id: str
    other_performance_id: str
    anchor_piece_id: str
    other_piece_id: str
    anchor_work_id: str | None
    other_work_id: str | None
    anchor_scope: str
    other_scope: str
    anchor_split: str
    other_split: str
    anchor_year: int
    other_year: int
    performer_relation: str
    performer_assumed: bool  # a positive whose "different performer" rests on the proxy
    relative_position_gap: float | None


class PairsManifest(BaseModel):
    table: str  # relative to the model repo root
    table_sha256: str
    piece_map: str  # the map the pairs were built from, relative to the model repo root
    piece_map_sha256: str
    leakage: SplitLeakage
    policy: PairPolicy
    stats: PairStats
    segments_available: int
    recordings_covered: int
    embedder: EmbedderLabel | None
