"""What a per-recording tier supplies, and the names and paths every tier follows. Dagster-free.

A tier (T2 Chopin 2021, T3 MAESTRO, T4 YouTube recitals, …) is one folder with a small
`TierAdapter`: where its catalog is and which recording keys it lists, how to fetch one
recording's audio, what provenance rides along. `piano_assets.lib.tier_factory.recording_tier`
turns an adapter into the Dagster pieces that are the same for every tier (partitions, the
audio → segments → embeddings steps, the completeness check, the catalog sensor), and
`piano_assets.lib.recording_steps` holds the shared per-recording work.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Protocol

from pydantic import BaseModel, ConfigDict

from piano_assets.engine.files import safe_child, validate_key
from piano_assets.layout import ModelRepoLayout
from piano_assets.settings import SourceLocations

if TYPE_CHECKING:
    from piano_assets.sources.ytdlp import YtDlpClient


@dataclass(frozen=True)
class TierNames:
    """One name per tier, the same in its folder, group, partitions, assets, steps and sensor."""

    tier: str

    def __post_init__(self) -> None:
        validate_key(self.tier)

    @property
    def group(self) -> str:
        return self.tier

    @property
    def partitions(self) -> str:
        return f"{self.tier}_recordings"

    @property
    def audio(self) -> str:
        return f"{self.tier}_audio"

    @property
    def segments(self) -> str:
        return f"{self.tier}_segments"

    @property
    def embeddings(self) -> str:
        return f"{self.tier}_muq_embeddings"

    @property
    def audio_step(self) -> str:
        return f"{self.tier}_recording_audio"

    @property
    def embedding_step(self) -> str:
        return f"{self.tier}_recording_embeddings"

    @property
    def sensor(self) -> str:
        return f"{self.tier}_new_recordings"

    @property
    def completeness_check(self) -> str:
        return "every_recording_has_audio_segments_embeddings"


@dataclass(frozen=True)
class RecordingPaths:
    """Where one tier keeps its per-recording files, inside the model repo."""

    tier: str
    root: Path  # the model repo root: records store paths relative to it
    audio_dir: Path  # <key>.wav (24 kHz mono) + <key>.json (AudioRecord)
    segments_dir: Path  # <key>.json: the segment table the embeddings follow
    embeddings_dir: Path  # <key>.safetensors: the engine's store
    scratch_dir: Path  # downloads in flight, one folder per recording, removed after each try
    ledger_dir: Path  # <tier>.jsonl: recordings that failed, with stage and cause

    @classmethod
    def under(
        cls, layout: ModelRepoLayout, tier: str, data_dir: Path, audio_dirname: str = "audio"
    ) -> RecordingPaths:
        """The usual arrangement: audio/, segments/ and muq_embeddings/ in the tier's data folder,
        scratch under `.piano_assets/downloads/<tier>/scratch`, the shared failure ledgers."""
        return cls(
            tier=tier,
            root=layout.root,
            audio_dir=data_dir / audio_dirname,
            segments_dir=data_dir / "segments",
            embeddings_dir=data_dir / "muq_embeddings",
            scratch_dir=layout.downloads / tier / "scratch",
            ledger_dir=layout.failure_ledgers,
        )

    def audio(self, recording_id: str) -> Path:
        return safe_child(self.audio_dir, f"{validate_key(recording_id)}.wav")

    def audio_record(self, recording_id: str) -> Path:
        return safe_child(self.audio_dir, f"{validate_key(recording_id)}.json")

    def segment_table(self, recording_id: str) -> Path:
        return safe_child(self.segments_dir, f"{validate_key(recording_id)}.json")

    def embeddings(self, recording_id: str) -> Path:
        return safe_child(self.embeddings_dir, f"{validate_key(recording_id)}.safetensors")

    def scratch(self, recording_id: str) -> Path:
        return safe_child(self.scratch_dir, validate_key(recording_id))

    def relative(self, path: Path) -> str:
        """`path` relative to the model repo root (records stay valid when the repo moves)."""
        try:
            return Path(path).resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            return str(path)


@dataclass(frozen=True)
class TierPaths:
    """Where a tier keeps its files: its data folder `root` (audio, segments and embeddings
    inside), its own state under `.piano_assets/<tier>/` and its downloads under
    `.piano_assets/downloads/<tier>/`. A tier's paths class names `tier` and `root` and adds
    its own files."""

    tier: ClassVar[str]
    audio_dirname: ClassVar[str] = "audio"
    layout: ModelRepoLayout

    @property
    def root(self) -> Path:
        raise NotImplementedError

    @property
    def audio_dir(self) -> Path:
        return self.root / self.audio_dirname

    @property
    def segments_dir(self) -> Path:
        return self.root / "segments"

    @property
    def embeddings_dir(self) -> Path:
        return self.root / "muq_embeddings"

    def recordings(self) -> RecordingPaths:
        """The per-recording files, as the tier factory handles them."""
        return RecordingPaths.under(self.layout, self.tier, self.root, self.audio_dirname)

    @property
    def state(self) -> Path:
        return self.layout.platform / self.tier

    @property
    def downloads(self) -> Path:
        return self.layout.downloads / self.tier

    @property
    def catalog(self) -> Path:
        """What the tier's catalog asset writes: one entry per recording."""
        return self.state / "catalog.jsonl"


class AudioRecord(BaseModel):
    """What the audio step knows of one recording (`<audio_dir>/<key>.json`), the same in every
    tier: where the audio came from, what the source declared, how it was converted."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    recording_id: str
    tier: str
    source_url: str
    source_sha256: str | None
    source_bytes: int | None
    declared_seconds: dict[str, float]  # what the source said: {"yt-dlp": 612.0, ...}
    converter: dict[str, str]  # sample rate, channels, sample format, ffmpeg version
    audio_file: str  # relative to the model repo root
    sample_rate: int
    channels: int
    seconds: float
    bytes: int
    sha256: str
    details: dict[str, str | int | float | None] = {}


@dataclass(frozen=True)
class FetchedAudio:
    """One recording's audio as the source gave it, before conversion.

    `path` is a file in the recording's scratch folder (removed after the step), or a file the
    user owns that is read in place (never removed).
    """

    path: Path
    source_url: str
    declared_seconds: Mapping[str, float] = field(default_factory=dict)
    details: Mapping[str, str | int | float | None] = field(default_factory=dict)
    source_sha256: str | None = None  # computed from `path` when not given


@dataclass(frozen=True)
class SourceGrowth:
    """What the source lists that the catalog has not seen (empty: nothing new)."""

    unseen: list[str]
    source: str


class RecordingSource(Protocol):
    """Fetches recordings for one run; opened once per run (a zip is opened and checked once)."""

    def fetch(self, recording_id: str, scratch: Path) -> FetchedAudio: ...


@dataclass(frozen=True)
class TierEnvironment:
    """What an adapter may use of the outside world, as plain values (no Dagster)."""

    layout: ModelRepoLayout
    sources: SourceLocations
    ytdlp: Callable[[], YtDlpClient]
    log: Callable[[str], None]


class TierPathsAdapter:
    """The part of a `TierAdapter` that follows from its `TierPaths` class (the tier's name, its
    paths) and from the audio record details it keeps as embedding provenance."""

    paths_type: ClassVar[type[TierPaths]]
    provenance_details: ClassVar[tuple[str, ...]] = ()  # keys of AudioRecord.details
    names: ClassVar[TierNames]

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls.names = TierNames(cls.paths_type.tier)

    def embedding_provenance(self, record: AudioRecord) -> dict[str, str]:
        return {key: str(record.details.get(key, "")) for key in self.provenance_details}

    def recording_paths(self, layout: ModelRepoLayout) -> RecordingPaths:
        return self.paths_type(layout).recordings()

    def catalog_path(self, layout: ModelRepoLayout) -> Path:
        return self.paths_type(layout).catalog


class TierAdapter(Protocol):
    """What a tier supplies to the factory. Small, Dagster-free, one per tier folder."""

    @property
    def names(self) -> TierNames: ...

    @property
    def title(self) -> str:
        """Shown in descriptions, e.g. "T2: Chopin Competition 2021"."""
        ...

    @property
    def catalog_asset(self) -> str:
        """The asset that writes the catalog and registers the partitions."""
        ...

    @property
    def summary_asset(self) -> str:
        """The tier's unpartitioned output downstream of the embeddings (carries the check)."""
        ...

    @property
    def download_pool(self) -> str | None:
        """A concurrency pool for the audio step (e.g. YouTube downloads), or None."""
        ...

    @property
    def sensor_interval_s(self) -> int: ...

    def recording_paths(self, layout: ModelRepoLayout) -> RecordingPaths: ...

    def catalog_path(self, layout: ModelRepoLayout) -> Path: ...

    def catalog_keys(self, layout: ModelRepoLayout) -> list[str]:
        """The recording keys the catalog lists ([] when there is no catalog yet)."""
        ...

    def source_growth(self, env: TierEnvironment) -> SourceGrowth: ...

    def open_source(self, env: TierEnvironment) -> RecordingSource: ...

    def embedding_provenance(self, record: AudioRecord) -> dict[str, str]:
        """Tier-specific provenance stored with each recording's embeddings (the audio record's
        source URL, source hash and converter are stored for every tier)."""
        ...
