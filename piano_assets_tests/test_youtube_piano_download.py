"""T4 audio fetch with a failure ledger: the served sample world, real yt-dlp, loopback only."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from piano_assets.sample.youtube_world import build_youtube_world
from piano_assets.sources.ytdlp import YtDlpClient
from piano_assets.youtube_piano.catalog import build_catalog, list_channels
from piano_assets.youtube_piano.channels import load_channel_list
from piano_assets.youtube_piano.download import FailureLedger, RecordingDownloadError, fetch_audio
from piano_assets.youtube_piano.failures import FailureCategory, FailureKind
from piano_assets_tests.sources_fixtures import LoopbackServer


@pytest.fixture(scope="module")
def world_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LoopbackServer, dict]]:
    with LoopbackServer(tmp_path_factory.mktemp("served") / "world") as server:
        world = build_youtube_world(server.root, media_base_url=server.url("youtube/media/"))
        client = YtDlpClient(allow_file_urls=True, retries=0)
        results = list_channels(client, load_channel_list(world.channels_file).channels)
        videos = {v.video_id: v for v in build_catalog(results, world.filters).videos}
        yield server, {"world": world, "videos": videos, "client": client}


@pytest.fixture
def served(
    world_server: tuple[LoopbackServer, dict], tmp_path: Path
) -> tuple[LoopbackServer, dict]:
    server, shared = world_server
    server.behaviour.statuses.clear()
    return server, {**shared, "dir": tmp_path}


def _fetch(env: dict, video_id: str, **kwargs: object):
    video = env["videos"][video_id]
    return fetch_audio(
        env["client"],
        video,
        env["dir"] / "audio" / f"{video.recording_id}.wav",
        archive_file=env["dir"] / "archive.txt",
        work_dir=env["dir"] / "work",
        ledger=FailureLedger(env["dir"] / "downloads.jsonl"),
        **kwargs,  # type: ignore[arg-type]
    )


def test_a_removed_video_fails_permanently_once_and_is_not_asked_for_again(served) -> None:
    server, env = served
    removed = env["world"].removed_video_id
    with pytest.raises(RecordingDownloadError) as first:
        _fetch(env, removed)
    assert first.value.permanent and first.value.failure.category is FailureCategory.NOT_FOUND
    assert env["world"].removed_recording_id in str(first.value)
    assert "will not be retried" in str(first.value)
    asked = len(server.gets(f"youtube/media/{removed}.wav"))
    assert asked >= 1
    with pytest.raises(RecordingDownloadError, match="recorded"):
        _fetch(env, removed)
    assert len(server.gets(f"youtube/media/{removed}.wav")) == asked  # no new request
    ledger = FailureLedger(env["dir"] / "downloads.jsonl")
    assert ledger.permanent() == [env["world"].removed_recording_id]
    with pytest.raises(RecordingDownloadError):
        _fetch(env, removed, retry_permanent=True)
    assert len(server.gets(f"youtube/media/{removed}.wav")) > asked
    assert ledger.latest()[env["world"].removed_recording_id].attempt == 2


def test_a_rate_limited_download_waits_then_succeeds_and_clears_the_ledger(served) -> None:
    server, env = served
    server.behaviour.statuses["/youtube/media/yt-sample-debussy.wav"] = [429] * 4
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with pytest.raises(RecordingDownloadError) as caught:
        _fetch(env, "yt-sample-debussy", now=lambda: start)
    assert caught.value.failure.kind is FailureKind.RETRY_LATER
    assert caught.value.failure.category is FailureCategory.RATE_LIMITED
    row = FailureLedger(env["dir"] / "downloads.jsonl").latest()[caught.value.recording_id]
    assert row.retry_after == start + timedelta(hours=1)
    asked = len(server.gets("youtube/media/yt-sample-debussy.wav"))
    with pytest.raises(RecordingDownloadError, match="not before"):
        _fetch(env, "yt-sample-debussy", now=lambda: start + timedelta(minutes=5))
    assert len(server.gets("youtube/media/yt-sample-debussy.wav")) == asked
    server.behaviour.statuses["/youtube/media/yt-sample-debussy.wav"] = []
    done = _fetch(env, "yt-sample-debussy", now=lambda: start + timedelta(hours=2))
    assert done.path.exists() and not done.from_archive
    assert FailureLedger(env["dir"] / "downloads.jsonl").latest() == {}
    again = _fetch(env, "yt-sample-debussy")  # resumable: already in place, nothing fetched
    assert again.from_archive
