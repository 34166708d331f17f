"""Where everything lives inside the model repo (docs/target-layout.md). Dagster-free."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# Folders of model/data the user keeps; the platform observes them and never writes them.
KEPT_DATA_DIRS: tuple[str, ...] = (
    "percepiano_cache",
    "percepiano_midi",
    "pretrain_cache",
    "asap_cache",
    "atepp_cache",
    "maestro_cache",
    "masterclass_cache",
    "checkpoints",
)

# Housekeeping folder inside the model repo: trash, manifests, journals, ledgers.
PLATFORM_DIR = ".piano_assets"


@dataclass(frozen=True)
class ModelRepoLayout:
    """Paths of the model repo, before and after the reorganization."""

    root: Path

    # -- before the reorganization -------------------------------------------------------
    @property
    def legacy_tools(self) -> Path:
        return self.root / "tools"

    @property
    def legacy_pipeline(self) -> Path:
        return self.legacy_tools / "masterclass-pipeline"

    @property
    def legacy_pipeline_data(self) -> Path:
        return self.legacy_pipeline / "data"

    @property
    def plans_dir(self) -> Path:
        return self.root / "docs" / "plans"

    @property
    def superseded_plans(self) -> tuple[Path, Path]:
        return (
            self.plans_dir / "2026-02-15-model-improvement-design.md",
            self.plans_dir / "2026-02-15-model-improvement-implementation.md",
        )

    # -- after the reorganization ---------------------------------------------------------
    @property
    def model(self) -> Path:
        return self.root / "model"

    @property
    def data(self) -> Path:
        return self.model / "data"

    @property
    def pipeline(self) -> Path:
        return self.model / "tools" / "masterclass-pipeline"

    @property
    def pipeline_data(self) -> Path:
        return self.data / "masterclass_pipeline"

    @property
    def stale_pianoteq(self) -> Path:
        return self.data / "percepiano_pianoteq_rendered"

    @property
    def percepiano_embeddings(self) -> Path:
        return self.data / "percepiano_cache" / "muq_embeddings.pt"

    @property
    def competition_cache(self) -> Path:
        return self.data / "competition_cache"

    @property
    def chopin2021(self) -> Path:
        return self.competition_cache / "chopin2021"

    @property
    def maestro_cache(self) -> Path:
        return self.data / "maestro_cache"

    @property
    def youtube_piano_cache(self) -> Path:
        return self.data / "youtube_piano_cache"

    @property
    def composite_labels(self) -> Path:
        return self.data / "composite_labels"

    # -- platform housekeeping ------------------------------------------------------------
    @property
    def platform(self) -> Path:
        return self.root / PLATFORM_DIR

    @property
    def trash(self) -> Path:
        return self.platform / "trash"

    @property
    def downloads(self) -> Path:
        """Work area for downloads in progress (partial files, yt-dlp archives, ledgers)."""
        return self.platform / "downloads"

    @property
    def failure_ledgers(self) -> Path:
        """One jsonl per tier: recordings that failed, with stage and cause."""
        return self.platform / "failures"

    @property
    def raw_pages(self) -> Path:
        """Raw copies of fetched web pages, kept for provenance."""
        return self.platform / "raw_pages"

    def kept_data_dirs(self) -> list[Path]:
        return [self.data / name for name in KEPT_DATA_DIRS]
