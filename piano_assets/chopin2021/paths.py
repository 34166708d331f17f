"""Where the Chopin 2021 tier keeps its files inside the model repo. Dagster-free."""

from __future__ import annotations

from pathlib import Path

from piano_assets.engine.files import safe_child, validate_key
from piano_assets.lib.tier import TierPaths

TIER = "chopin2021"


class Chopin2021Paths(TierPaths):
    tier = TIER

    # -- outputs (model/data/competition_cache/chopin2021/) -------------------------------
    @property
    def root(self) -> Path:
        return self.layout.chopin2021

    @property
    def metadata(self) -> Path:
        """One line per segment."""
        return self.root / "metadata.jsonl"

    @property
    def results(self) -> Path:
        """One line per performer."""
        return self.root / "results.jsonl"

    def audio(self, recording_id: str) -> Path:
        return safe_child(self.audio_dir, f"{validate_key(recording_id)}.wav")

    # -- state (<root>/.piano_assets/chopin2021/) -------------------------------------------
    @property
    def resolved_results(self) -> Path:
        """What `chopin2021_results` settled on (site, else curated), before the metadata
        asset publishes it as results.jsonl."""
        return self.state / "results_resolved.jsonl"

    @property
    def cross_check(self) -> Path:
        return self.state / "results_cross_check.json"

    @property
    def video_ledger(self) -> Path:
        return self.state / "video_ledger.jsonl"

    @property
    def raw_pages(self) -> Path:
        return self.layout.raw_pages / TIER

    @property
    def download_archive(self) -> Path:
        return self.downloads / "yt-dlp-archive.txt"

    @property
    def failure_ledgers(self) -> Path:
        return self.layout.failure_ledgers
