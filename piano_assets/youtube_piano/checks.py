"""T4 asset checks (tier-level, across every registered recording). T4 is not a gate: its
checks inform; the factory adds `every_recording_has_audio_segments_embeddings`."""

import dagster as dg

from piano_assets.lib.partitions import registered_partitions
from piano_assets.lib.recording_batch import permanently_unavailable
from piano_assets.resources import ModelRepoResource
from piano_assets.youtube_piano.adapter import ADAPTER
from piano_assets.youtube_piano.augment import AugmentationConfig
from piano_assets.youtube_piano.outputs import parameters_out_of_range
from piano_assets.youtube_piano.paths import YoutubePianoPaths
from piano_assets.youtube_piano.records import read_pairs

_SHOWN = 20


def youtube_piano_checks(config: AugmentationConfig) -> list[dg.AssetChecksDefinition]:
    @dg.asset_check(
        asset="youtube_piano_pairs",
        description="Every registered recording the source still gives has its clean embeddings "
        f"and all {config.versions_per_segment} augmented version(s); permanently unavailable "
        "videos (removed, private) are named and excluded.",
    )
    def every_recording_has_clean_and_augmented_embeddings(
        context: dg.AssetCheckExecutionContext, model_repo: ModelRepoResource
    ) -> dg.AssetCheckResult:
        paths = YoutubePianoPaths(model_repo.layout())
        recordings = paths.recordings()
        registered = registered_partitions(context.instance, ADAPTER.names.partitions)
        gone = permanently_unavailable(recordings.ledger_dir, ADAPTER.names.tier)
        missing: dict[str, list[str]] = {}
        for recording_id in registered:
            if recording_id in gone:
                continue
            lacks = [] if recordings.embeddings(recording_id).is_file() else ["clean"]
            lacks += [
                f"augmented v{v}"
                for v in range(1, config.versions_per_segment + 1)
                if not paths.augmented(recording_id, v).is_file()
            ]
            if lacks:
                missing[recording_id] = lacks
        available = len(registered) - len(gone)
        shown = ", ".join(f"{k} ({', '.join(v)})" for k, v in list(missing.items())[:_SHOWN])
        return dg.AssetCheckResult(
            passed=available > 0 and not missing,
            description=(
                f"{available - len(missing)}/{available} available recordings have clean and "
                "augmented embeddings"
                + (f"; missing: {shown}" if missing else "")
                + (f"; {len(gone)} permanently unavailable, excluded" if gone else "")
            ),
            metadata={
                "registered": len(registered),
                "permanently_unavailable": dg.MetadataValue.json(gone),
                "missing": dg.MetadataValue.json(dict(list(missing.items())[:50])),
            },
        )

    @dg.asset_check(
        asset="youtube_piano_pairs",
        description="Every pair's recorded augmentation parameters are in the configured ranges "
        "(SNR 10-30 dB, pitch within ±50 cents, EQ gains within ±6 dB, phone band 300-3400 Hz, "
        "…) and its seed derives from its segment id and version.",
    )
    def augmentation_parameters_in_range(model_repo: ModelRepoResource) -> dg.AssetCheckResult:
        paths = YoutubePianoPaths(model_repo.layout())
        pairs = read_pairs(paths.pairs)
        problems = parameters_out_of_range(pairs, config)
        return dg.AssetCheckResult(
            passed=bool(pairs) and not problems,
            description=(
                "; ".join(problems[:_SHOWN])
                or (f"all {len(pairs)} pairs in range" if pairs else "no pairs yet")
            ),
            metadata={"pairs": len(pairs), "out_of_range": len(problems)},
        )

    return [every_recording_has_clean_and_augmented_embeddings, augmentation_parameters_in_range]
