"""T1 and the other caches the user keeps: observable source assets (read, never written)."""

from __future__ import annotations

import dagster as dg

from piano_assets.layout import KEPT_DATA_DIRS
from piano_assets.percepiano.observe import summarize_folder
from piano_assets.resources import ModelRepoResource

# composite_labels is produced by another project (post-taxonomy); we only look at it.
OBSERVED_DATA_DIRS: tuple[str, ...] = (*KEPT_DATA_DIRS, "composite_labels")
# What T3 writes into maestro_cache/; the raw MAESTRO data is the rest.
_PLATFORM_OUTPUTS = {
    "maestro_cache": (
        "audio_24k",
        "segments",
        "muq_embeddings",
        "recordings.",
        "piece_performer_map.",
        "contrastive_pairs.",
        "recordings_per_work.",
    ),
}
_GROUPS = {
    "percepiano_cache": "percepiano",
    "percepiano_midi": "percepiano",
    "maestro_cache": "maestro",
    "masterclass_cache": "percepiano",
}


def _observed_cache(folder: str) -> dg.SourceAsset:
    @dg.observable_source_asset(
        name=folder,
        group_name=_GROUPS.get(folder, "kept_data"),
        description=f"`model/data/{folder}/`: kept by the user; observed, never written.",
    )
    def _observe(model_repo: ModelRepoResource) -> dg.ObserveResult:
        summary = summarize_folder(
            model_repo.layout().data / folder, _PLATFORM_OUTPUTS.get(folder, ())
        )
        return dg.ObserveResult(
            data_version=dg.DataVersion(summary.data_version),
            metadata={
                "path": dg.MetadataValue.path(str(summary.path)),
                "exists": summary.exists,
                "files": summary.files,
                "megabytes": round(summary.bytes / 1e6, 3),
            },
        )

    return _observe


observed_caches = [_observed_cache(folder) for folder in OBSERVED_DATA_DIRS]
