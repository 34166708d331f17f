"""T4 YouTube piano recitals: every asset, check and sensor of the tier, as one `defs`.

The augmented embeddings are an extra stage of the factory's embeddings step (same machine,
same model): the engine runs each segment through its seeded augmentation chain.
"""

from collections.abc import Mapping
from typing import Any

import dagster as dg

from piano_assets.lib.automation import automation_condition, with_eager_automation
from piano_assets.lib.tier_factory import EmbeddingStageInputs, ExtraEmbeddingStage, recording_tier
from piano_assets.settings import settings_or_defaults
from piano_assets.youtube_piano.adapter import ADAPTER
from piano_assets.youtube_piano.assets import (
    AUGMENTED,
    pairs_asset,
    youtube_piano_catalog,
    youtube_piano_channels,
)
from piano_assets.youtube_piano.augment import AugmentationConfig
from piano_assets.youtube_piano.augmented import embed_augmented
from piano_assets.youtube_piano.checks import youtube_piano_checks
from piano_assets.youtube_piano.paths import YoutubePianoPaths

# PIANO_ASSETS_YOUTUBE_PIANO_AUGMENTED_VERSIONS, read when the code location loads.
AUGMENTATION = AugmentationConfig(
    versions_per_segment=settings_or_defaults()[0].youtube_piano_augmented_versions
)


def _augmented(inputs: EmbeddingStageInputs) -> Mapping[str, Mapping[str, Any] | Exception]:
    return embed_augmented(
        inputs.recording_ids,
        YoutubePianoPaths(inputs.model_repo.layout()),
        inputs.muq.get_embedder(),
        inputs.muq.segment_policy(),
        AUGMENTATION,
        inputs.log,
        engine=inputs.muq.engine_config(),
    )


tier = recording_tier(
    ADAPTER,
    extra_stages=[
        ExtraEmbeddingStage(
            asset=AUGMENTED,
            run=_augmented,
            description="T4: per recording, MuQ embeddings of each segment's seeded augmented "
            "version(s) (room, noise, phone, pitch, EQ; the original augmentor's probabilities), "
            "through the shared engine; each file's provenance names the augmentation.",
        )
    ],
    automation_condition=automation_condition(),
)

defs = dg.Definitions.merge(
    tier.definitions(),
    dg.Definitions(
        assets=with_eager_automation(
            [youtube_piano_channels, youtube_piano_catalog, pairs_asset(AUGMENTATION)]
        ),
        asset_checks=youtube_piano_checks(AUGMENTATION),
    ),
)
