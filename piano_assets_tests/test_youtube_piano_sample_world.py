"""The sample's T4 world, read by real yt-dlp: the catalog's verdicts, one download, one removal."""

from __future__ import annotations

from pathlib import Path

import pytest

from piano_assets.sample.youtube_world import build_youtube_world
from piano_assets.sources.errors import VideoUnavailableError
from piano_assets.sources.wav import read_wav_header
from piano_assets.sources.ytdlp import YtDlpClient
from piano_assets.youtube_piano.catalog import build_catalog, list_channels
from piano_assets.youtube_piano.channels import effective_channels, load_channel_list
from piano_assets.youtube_piano.failures import FailureCategory, FailureKind, classify_error


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):
    return build_youtube_world(tmp_path_factory.mktemp("world"))


def test_the_world_is_deterministic(world, tmp_path: Path) -> None:
    again = build_youtube_world(tmp_path / "w2")
    for name in ("hall-a.rss", "conservatory-b.rss", "festival-c.rss", "channels.yaml"):
        first = (world.world_dir / "youtube" / name).read_text()
        second = (again.world_dir / "youtube" / name).read_text()
        assert first.replace(str(world.world_dir), "W") == second.replace(str(again.world_dir), "W")
    media = sorted(p.name for p in (world.world_dir / "youtube" / "media").iterdir())
    assert media == sorted(f"{v}.wav" for v in world.expected_kept if v != world.removed_video_id)
    total = sum(
        read_wav_header(p).seconds for p in (world.world_dir / "youtube" / "media").iterdir()
    )
    assert total < 300  # small: the whole sample must materialize in minutes on 2 cores


def test_real_yt_dlp_lists_the_feeds_and_the_catalog_gives_the_expected_verdicts(world) -> None:
    channels = effective_channels(None, curated=load_channel_list(world.channels_file))
    assert [c.key for c in channels.channels] == list(world.channel_urls)
    results = list_channels(YtDlpClient(allow_file_urls=True), channels.channels)
    assert all(result.failure is None for result in results)
    build = build_catalog(results, world.filters)
    assert {v.video_id: v.recording_id for v in build.videos} == world.expected_kept
    assert {(r.channel_key, r.video_id): r.rule for r in build.ledger} == world.expected_ledger
    shared = next(v for v in build.videos if "shared" in v.video_id)
    assert (shared.channel_key, shared.also_on) == ("sample-hall-a", ["sample-festival-c"])
    ballade = next(v for v in build.videos if v.video_id == "yt-sample-ballade")
    assert ballade.duration_s == 62.0 and ballade.upload_date == "20240601"
    assert ballade.url.startswith("file://") and ballade.url.endswith("/yt-sample-ballade.wav")


def test_a_kept_video_downloads_and_the_removed_one_fails_permanently(
    world, tmp_path: Path
) -> None:
    client = YtDlpClient(allow_file_urls=True, retries=0)
    results = list_channels(client, load_channel_list(world.channels_file).channels)
    videos = {v.video_id: v for v in build_catalog(results, world.filters).videos}
    partita = videos["yt-sample-partita"]
    done = client.download_audio(
        partita.url,
        tmp_path / "audio" / f"{partita.recording_id}.wav",
        recording_id=partita.recording_id,
        archive_file=tmp_path / "archive.txt",
        work_dir=tmp_path / "work",
    )
    header = read_wav_header(done.path)
    assert (header.sample_rate, header.channels) == (24_000, 1)
    assert header.seconds == pytest.approx(45.0, abs=0.1)
    removed = videos[world.removed_video_id]
    with pytest.raises(VideoUnavailableError) as caught:
        client.download_audio(
            removed.url,
            tmp_path / "audio" / f"{removed.recording_id}.wav",
            recording_id=removed.recording_id,
            archive_file=tmp_path / "archive.txt",
            work_dir=tmp_path / "work",
        )
    failure = classify_error(caught.value)
    assert (failure.kind, failure.category) == (FailureKind.PERMANENT, FailureCategory.NOT_FOUND)
    assert world.removed_recording_id in failure.message
