"""The Chopin 2021 tier's adapter for the tier factory, without Dagster.

Catalog: `chopin2021_video_catalog` writes `.piano_assets/chopin2021/catalog.jsonl` (one matched
video per recording). Source: the official channel, listed flat and downloaded with yt-dlp (a
download archive makes re-runs cheap). Provenance: the video id and title ride along.
"""

from __future__ import annotations

from pathlib import Path

from piano_assets.chopin2021.catalog import (
    LedgerItem,
    RecordingSpec,
    catalog_by_key,
    read_catalog,
)
from piano_assets.chopin2021.outputs import spec_for
from piano_assets.chopin2021.paths import Chopin2021Paths
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


class Chopin2021Source:
    """Downloads one catalog recording's video audio (24 kHz mono WAV) into its scratch folder."""

    def __init__(self, paths: Chopin2021Paths, client: YtDlpClient) -> None:
        self.paths = paths
        self.client = client
        self.catalog: dict[str, RecordingSpec] = catalog_by_key(read_catalog(paths.catalog))

    def fetch(self, recording_id: str, scratch: Path) -> FetchedAudio:
        spec = spec_for(self.catalog, recording_id, self.paths)
        downloaded = self.client.download_audio(
            spec.source_url,
            scratch / f"{recording_id}.wav",
            recording_id=recording_id,
            archive_file=self.paths.download_archive,
            work_dir=scratch / "download",
        )
        return FetchedAudio(
            path=downloaded.path,
            source_url=spec.source_url,
            declared_seconds=downloaded.declared_durations(spec.duration_s),
            details={
                "video_id": spec.video_id,
                "title": spec.title,
                "performer": spec.performer,
                "round": spec.round.value,
            },
        )


class Chopin2021Adapter(TierPathsAdapter):
    """T2: one partition per matched video of the official channel."""

    paths_type = Chopin2021Paths
    title = "T2 Chopin Competition 2021"
    catalog_asset = "chopin2021_video_catalog"
    summary_asset = "chopin2021_metadata"
    download_pool: str | None = "youtube_downloads"
    sensor_interval_s = 3600  # one channel listing an hour
    provenance_details = ("video_id",)

    def catalog_keys(self, layout: ModelRepoLayout) -> list[str]:
        catalog = self.catalog_path(layout)
        return [spec.recording_id for spec in read_catalog(catalog)] if catalog.is_file() else []

    def source_growth(self, env: TierEnvironment) -> SourceGrowth:
        """Videos on the channel that neither the catalog nor its ledger has seen."""
        paths = Chopin2021Paths(env.layout)
        seen = (
            [spec.video_id for spec in read_catalog(paths.catalog)]
            if paths.catalog.is_file()
            else []
        )
        if paths.video_ledger.exists():
            seen += [item.video_id for item in read_jsonl(paths.video_ledger, LedgerItem)]
        url = env.sources.chopin2021_channel_url
        listed = [entry.video_id for entry in env.ytdlp().list_flat(url)]
        return SourceGrowth(unseen(listed, seen), url)

    def open_source(self, env: TierEnvironment) -> Chopin2021Source:
        return Chopin2021Source(Chopin2021Paths(env.layout), env.ytdlp())


ADAPTER = Chopin2021Adapter()
