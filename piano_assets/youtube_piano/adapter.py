"""The T4 tier's adapter for the tier factory, without Dagster.

Catalog: `youtube_piano_catalog` writes `.piano_assets/youtube_piano/catalog.jsonl` (one kept
video per recording). Source: the channels' videos, downloaded with yt-dlp (paced, resumable,
a download archive) as 24 kHz mono WAV. A failed download is classified permanent (removed,
private: never retried) or retry-later (rate limit, network: not before its time) in
`download_failures.jsonl`, and the factory's ledger carries the class.
"""

from __future__ import annotations

from pathlib import Path

from piano_assets.layout import ModelRepoLayout
from piano_assets.lib.catalog_sensor import unseen
from piano_assets.lib.jsonl import read_jsonl
from piano_assets.lib.tier import (
    FetchedAudio,
    SourceGrowth,
    TierEnvironment,
    TierPathsAdapter,
)
from piano_assets.sources.ytdlp import YtDlpClient
from piano_assets.youtube_piano.catalog import DroppedVideo, KeptVideo, read_catalog
from piano_assets.youtube_piano.channels import EffectiveChannels, channel_listing_url
from piano_assets.youtube_piano.download import FailureLedger, fetch_audio
from piano_assets.youtube_piano.paths import YoutubePianoPaths


class YoutubePianoSource:
    """Downloads one kept video's audio into its scratch folder, by the failure ledger's rules."""

    def __init__(self, paths: YoutubePianoPaths, client: YtDlpClient) -> None:
        self.paths = paths
        self.client = client
        self.catalog: dict[str, KeptVideo] = {
            video.recording_id: video for video in read_catalog(paths.catalog)
        }
        self.ledger = FailureLedger(paths.download_failures)

    def fetch(self, recording_id: str, scratch: Path) -> FetchedAudio:
        video = self.catalog.get(recording_id)
        if video is None:
            raise KeyError(
                f"recording {recording_id} is registered but not in {self.paths.catalog}: "
                "materialize youtube_piano_catalog again"
            )
        downloaded = fetch_audio(
            self.client,
            video,
            scratch / f"{recording_id}.wav",
            archive_file=self.paths.download_archive,
            work_dir=scratch / "download",
            ledger=self.ledger,
        )
        return FetchedAudio(
            path=downloaded.path,
            source_url=video.url,
            declared_seconds=downloaded.declared_durations(video.duration_s),
            details={
                "video_id": video.video_id,
                "channel": video.channel_key,
                "title": video.title,
            },
        )


class YoutubePianoAdapter(TierPathsAdapter):
    """T4: one partition per kept video of the curated channels."""

    paths_type = YoutubePianoPaths
    title = "T4 YouTube piano recitals"
    catalog_asset = "youtube_piano_catalog"
    summary_asset = "youtube_piano_pairs"
    download_pool: str | None = "youtube_downloads"
    sensor_interval_s = 6 * 3600  # 20-30 channel listings, paced: a few times a day
    provenance_details = ("video_id", "channel")

    def catalog_keys(self, layout: ModelRepoLayout) -> list[str]:
        return [video.recording_id for video in read_catalog(self.catalog_path(layout))]

    def source_growth(self, env: TierEnvironment) -> SourceGrowth:
        """Videos the channels list that neither the catalog nor its ledger has seen."""
        paths = YoutubePianoPaths(env.layout)
        if not paths.channels.is_file():
            return SourceGrowth([], "no channel list yet (materialize youtube_piano_channels)")
        channels = EffectiveChannels.model_validate_json(paths.channels.read_text("utf-8"))
        seen = {video.video_id for video in read_catalog(paths.catalog)}
        if paths.dropped.is_file():
            seen.update(video.video_id for video in read_jsonl(paths.dropped, DroppedVideo))
        client = env.ytdlp()
        listed = [
            entry.video_id
            for channel in channels.channels
            for entry in client.list_flat(channel_listing_url(channel))
        ]
        return SourceGrowth(unseen(listed, seen), f"{len(channels.channels)} channels")

    def open_source(self, env: TierEnvironment) -> YoutubePianoSource:
        return YoutubePianoSource(YoutubePianoPaths(env.layout), env.ytdlp())


ADAPTER = YoutubePianoAdapter()
