"""Where the MAESTRO tier keeps its files inside the model repo. Dagster-free."""

from __future__ import annotations

from pathlib import Path

from piano_assets.engine.files import validate_key
from piano_assets.lib.tier import TierPaths
from piano_assets.maestro import records

TIER = "maestro"
TARGET_SAMPLE_RATE = 24_000


class MaestroPaths(TierPaths):
    """Every file the tier reads or writes, from the model repo layout."""

    tier = TIER
    audio_dirname = records.AUDIO_DIR

    @property
    def root(self) -> Path:
        return self.layout.maestro_cache

    cache = root  # the tier's data folder is the user's maestro_cache/

    @property
    def recordings_table(self) -> Path:
        return self.cache / records.RECORDINGS_TABLE

    @property
    def catalog(self) -> Path:
        return self.recordings_table

    @property
    def recordings_manifest(self) -> Path:
        return self.cache / records.RECORDINGS_MANIFEST

    def audio(self, recording_id: str) -> Path:
        return self.audio_dir / f"{validate_key(recording_id)}.wav"

    def audio_record(self, recording_id: str) -> Path:
        return self.audio_dir / f"{validate_key(recording_id)}.json"

    @property
    def piece_map_table(self) -> Path:
        return self.cache / records.PIECE_MAP_TABLE

    @property
    def piece_map_manifest(self) -> Path:
        return self.cache / records.PIECE_MAP_MANIFEST

    @property
    def pairs_table(self) -> Path:
        return self.cache / records.PAIRS_TABLE

    @property
    def pairs_manifest(self) -> Path:
        return self.cache / records.PAIRS_MANIFEST

    @property
    def works_plot(self) -> Path:
        return self.cache / records.WORKS_PLOT

    def relative(self, path: Path | str) -> str:
        """How manifests name a file: relative to the model repo root when inside it, so the
        repo can move; a path outside it (a source elsewhere, a zip member) stays as given."""
        text = str(path)
        archive, bang, member = text.partition("!")  # "<zip>!<member>" names a zip member
        try:
            inside = Path(archive).resolve().relative_to(self.layout.root.resolve())
        except ValueError:
            return text
        return inside.as_posix() + bang + member

    @property
    def work_dir(self) -> Path:
        """Zip members in flight, download locks, verification stamps (platform housekeeping)."""
        return self.downloads

    @property
    def atepp_cache(self) -> Path:
        return self.layout.data / "atepp_cache"
