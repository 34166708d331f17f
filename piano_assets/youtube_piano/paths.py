"""Where the T4 tier keeps its files inside the model repo. Dagster-free."""

from __future__ import annotations

from pathlib import Path

from piano_assets.engine.files import validate_key
from piano_assets.lib.tier import TierPaths

TIER = "youtube_piano"


class YoutubePianoPaths(TierPaths):
    tier = TIER

    # -- outputs (model/data/youtube_piano_cache/) -----------------------------------------
    @property
    def root(self) -> Path:
        return self.layout.youtube_piano_cache

    @property
    def metadata(self) -> Path:
        """One line per clean segment."""
        return self.root / "metadata.jsonl"

    @property
    def pairs(self) -> Path:
        """One row per (clean segment, augmented version), with its parameters."""
        return self.root / "pairs.parquet"

    @property
    def invariance(self) -> Path:
        """Cosine and MSE per pair (the invariance baseline)."""
        return self.root / "invariance.parquet"

    @property
    def invariance_plot(self) -> Path:
        return self.root / "invariance.png"

    @property
    def augmented_dir(self) -> Path:
        return self.embeddings_dir / "augmented"

    def augmented(self, recording_id: str, version: int) -> Path:
        return self.augmented_dir / f"{augmented_key(recording_id, version)}.safetensors"

    @property
    def channel_overrides(self) -> Path:
        """The user's `add:` / `remove:` of channels (optional)."""
        return self.root / "channels.yaml"

    # -- state (<root>/.piano_assets/youtube_piano/) ----------------------------------------
    @property
    def channels(self) -> Path:
        """The effective channel list the catalog listed (curated + the user's changes)."""
        return self.state / "channels.json"

    @property
    def dropped(self) -> Path:
        """The catalog's ledger: listed videos that were not kept, and why."""
        return self.state / "dropped.jsonl"

    @property
    def download_failures(self) -> Path:
        """Per recording: permanent or retry-later download failures (retried by that rule)."""
        return self.state / "download_failures.jsonl"

    @property
    def download_archive(self) -> Path:
        return self.downloads / "yt-dlp-archive.txt"


def augmented_key(recording_id: str, version: int) -> str:
    return f"{validate_key(recording_id)}.aug{version:02d}"
