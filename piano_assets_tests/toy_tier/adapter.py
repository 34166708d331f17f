"""The toy tier's adapter: its catalog is a JSON file naming local audio files. Dagster-free."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from piano_assets.layout import ModelRepoLayout
from piano_assets.lib.catalog_sensor import unseen
from piano_assets.lib.tier import (
    AudioRecord,
    FetchedAudio,
    RecordingPaths,
    SourceGrowth,
    TierEnvironment,
    TierNames,
)

TIER = "toy"


def catalog_file(layout: ModelRepoLayout) -> Path:
    return layout.platform / TIER / "catalog.json"


def source_listing(layout: ModelRepoLayout) -> Path:
    """The toy's "outside world": what the source lists (the sensor compares it)."""
    return layout.root / "toy_world" / "listing.json"


def read_catalog(layout: ModelRepoLayout) -> dict[str, dict[str, object]]:
    path = catalog_file(layout)
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


class ToySource:
    def __init__(self, layout: ModelRepoLayout) -> None:
        self.catalog = read_catalog(layout)

    def fetch(self, recording_id: str, scratch: Path) -> FetchedAudio:
        entry = self.catalog[recording_id]
        original = Path(str(entry["file"]))
        copy = scratch / original.name  # a download would land here
        shutil.copyfile(original, copy)
        declared = entry.get("declared_seconds")
        return FetchedAudio(
            path=copy,
            source_url=original.as_uri(),
            declared_seconds={"toy catalog": float(declared)} if declared else {},  # type: ignore[arg-type]
            details={"file": original.name},
        )


class ToyAdapter:
    names = TierNames(TIER)
    title = "Toy tier (tests)"
    catalog_asset = "toy_catalog"
    summary_asset = "toy_summary"
    download_pool: str | None = None
    sensor_interval_s = 30

    def recording_paths(self, layout: ModelRepoLayout) -> RecordingPaths:
        return RecordingPaths.under(layout, TIER, layout.data / "toy_cache")

    def catalog_path(self, layout: ModelRepoLayout) -> Path:
        return catalog_file(layout)

    def catalog_keys(self, layout: ModelRepoLayout) -> list[str]:
        return list(read_catalog(layout))

    def source_growth(self, env: TierEnvironment) -> SourceGrowth:
        listing = source_listing(env.layout)
        listed = json.loads(listing.read_text(encoding="utf-8")) if listing.is_file() else {}
        return SourceGrowth(unseen(listed, read_catalog(env.layout)), str(listing))

    def open_source(self, env: TierEnvironment) -> ToySource:
        return ToySource(env.layout)

    def embedding_provenance(self, record: AudioRecord) -> dict[str, str]:
        return {"file": str(record.details.get("file", ""))}


ADAPTER = ToyAdapter()
