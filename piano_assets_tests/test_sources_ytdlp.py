"""YtDlpClient against a loopback server and file:// URLs: real yt-dlp, real ffmpeg, no internet."""

from __future__ import annotations

import logging
import socket
from pathlib import Path
from typing import Any

import pytest

from piano_assets.engine.files import UnsafeNameError
from piano_assets.sources import (
    DownloadError,
    UnsupportedUrlError,
    VideoUnavailableError,
    YtDlpClient,
)
from piano_assets.sources.wav import read_wav_header
from piano_assets.sources.ytdlp import entry_from_info, is_gone
from piano_assets_tests.sources_fixtures import LoopbackServer, make_flac, make_wav, rss_feed

OCT_4_2021 = 1_633_341_600  # 2021-10-04 10:00 UTC


@pytest.fixture
def server(loopback: LoopbackServer) -> LoopbackServer:
    return loopback


def _client(**kwargs: Any) -> YtDlpClient:
    return YtDlpClient(retries=0, socket_timeout_s=5, **kwargs)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _work(tmp_path: Path) -> tuple[Path, Path, Path]:
    """(audio folder, work folder, archive file) of a fresh download area."""
    return tmp_path / "audio", tmp_path / "work", tmp_path / "state" / "archive.txt"


# -- listing --------------------------------------------------------------------------------------


def test_lists_a_served_rss_feed_with_unicode_titles(server: LoopbackServer) -> None:
    items = [
        (
            "kk-r1",
            "Kyohei Sorita – Étude Op. 10 No. 1 (first round)",
            server.url("a.wav"),
            OCT_4_2021,
        ),
        ("bl-r3", "Bruce (Xiaoyu) Liu – Polonez fis-moll, Łódź 夜曲", server.url("b c.wav"), None),
    ]
    (server.root / "feed.xml").write_text(rss_feed("Chopin Institute – XVIII", items), "utf-8")

    entries = _client().list_flat(server.url("feed.xml"))

    assert [e.video_id for e in entries] == ["kk-r1", "bl-r3"]
    assert [e.title for e in entries] == [items[0][1], items[1][1]]
    # The catalog keeps the plain URL, not yt-dlp's smuggled form.
    assert [e.url for e in entries] == [server.url("a.wav"), server.url("b c.wav")]
    assert {e.playlist for e in entries} == {"Chopin Institute – XVIII"}
    assert entries[0].upload_date == "20211004"
    assert entries[1].upload_date is None
    assert entries[0].duration_s is None


def test_lists_a_file_url_feed_when_file_urls_are_allowed(tmp_path: Path) -> None:
    audio = make_wav(tmp_path / "Chopin – Ballade.wav", seconds=0.5)
    feed = tmp_path / "feed.xml"
    feed.write_text(rss_feed("Local channel", [("v1", "Ballade", audio.as_uri(), None)]), "utf-8")

    entries = _client(allow_file_urls=True).list_flat(feed.as_uri())

    assert [(e.video_id, e.title, e.url) for e in entries] == [("v1", "Ballade", audio.as_uri())]
    with pytest.raises(UnsupportedUrlError, match="file"):
        _client().list_flat(feed.as_uri())


def test_refuses_other_schemes() -> None:
    with pytest.raises(UnsupportedUrlError, match="ftp"):
        _client().list_flat("ftp://127.0.0.1/feed.xml")


def test_youtube_shaped_listing_expands_nested_playlists(monkeypatch: pytest.MonkeyPatch) -> None:
    # Shapes as yt-dlp's YouTube tab extractor returns them with extract_flat="in_playlist".
    channel = {
        "_type": "playlist",
        "title": "Chopin Institute - Playlists",
        "entries": [
            {
                "_type": "url",
                "ie_key": "Youtube",
                "id": "dQw4w9WgXcQ",
                "url": "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
                "title": "Stage I",
                "duration": 1805.0,
            },
            {
                "_type": "url",
                "ie_key": "YoutubeTab",
                "url": "https://www.youtube.com/playlist?list=PL1",
            },
        ],
    }
    playlist = {
        "_type": "playlist",
        "title": "XVIII Chopin Competition – Final",
        "entries": [
            {
                "_type": "url",
                "ie_key": "Youtube",
                "id": "abcdefghijk",
                "url": "https://www.youtube.com/watch?v=abcdefghijk",
                "title": "Final – Concerto in E minor",
                "timestamp": OCT_4_2021,
            },
            # Listed twice (also in the channel): kept once.
            {"_type": "url", "ie_key": "Youtube", "id": "dQw4w9WgXcQ", "url": "u", "title": "x"},
        ],
    }
    client = _client()
    calls: list[str] = []

    def fake_extract(url: str, params: dict[str, Any]) -> dict[str, Any]:
        calls.append(url)
        assert params["extract_flat"] == "in_playlist"
        return channel if "@" in url else playlist

    monkeypatch.setattr(client, "_extract", fake_extract)
    entries = client.list_flat("https://www.youtube.com/@chopininstitute/playlists")

    assert calls == [
        "https://www.youtube.com/@chopininstitute/playlists",
        "https://www.youtube.com/playlist?list=PL1",
    ]
    assert [(e.video_id, e.playlist) for e in entries] == [
        ("dQw4w9WgXcQ", "Chopin Institute - Playlists"),
        ("abcdefghijk", "XVIII Chopin Competition – Final"),
    ]
    assert entries[0].duration_s == 1805.0
    assert entries[0].title == "Stage I"
    assert entries[1].upload_date == "20211004"
    flat_only = client.list_flat(
        "https://www.youtube.com/@chopininstitute/playlists", expand_nested=False
    )
    assert [e.video_id for e in flat_only] == ["dQw4w9WgXcQ", "PL1"]


def test_entry_from_a_resolved_video_uses_its_page_url() -> None:
    info = {
        "id": "abcdefghijk",
        "title": "Nocturne",
        "url": "https://rr1.googlevideo.com/videoplayback?x=1",
        "webpage_url": "https://www.youtube.com/watch?v=abcdefghijk",
        "upload_date": "20211020",
    }
    entry = entry_from_info(info, playlist=None, flat=False)
    assert entry.url == "https://www.youtube.com/watch?v=abcdefghijk"
    assert entry.upload_date == "20211020"


# -- downloads ------------------------------------------------------------------------------------


def test_downloads_a_served_wav_as_24khz_mono(
    server: LoopbackServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    make_wav(server.root / "Étude in C – take 1.wav", seconds=3.0, sample_rate=44_100, channels=2)
    audio_dir, work, archive = _work(tmp_path)
    url = server.url("Étude in C – take 1.wav")
    logger = logging.getLogger("test.ytdlp")

    with caplog.at_level(logging.INFO, logger="test.ytdlp"):
        result = _client(logger=logger).download_audio(
            url,
            audio_dir / "sorita-r1.wav",
            recording_id="sorita-r1",
            archive_file=archive,
            work_dir=work,
        )

    header = read_wav_header(result.path)
    assert (header.sample_rate, header.channels, header.bits_per_sample) == (24_000, 1, 16)
    assert header.seconds == pytest.approx(3.0, abs=0.05)
    assert result.path == audio_dir / "sorita-r1.wav"
    assert (result.video_id, result.source_url, result.from_archive) == ("sorita-r1", url, False)
    assert result.title == "Étude in C – take 1"
    assert archive.read_text().split() == ["generic", "sorita-r1"]
    assert list(work.iterdir()) == []  # no part files or originals left behind
    assert "sorita-r1: downloading" in caplog.text
    assert "sorita-r1: audio ready" in caplog.text


def test_downloads_a_flac_file_url_with_unicode_name(tmp_path: Path) -> None:
    source = make_flac(tmp_path / "src" / "Ballade g-moll – Łukasz.flac", seconds=2.0)
    audio_dir, work, archive = _work(tmp_path)

    result = _client(allow_file_urls=True).download_audio(
        source.as_uri(),
        audio_dir / "lukasz.wav",
        recording_id="lukasz",
        archive_file=archive,
        work_dir=work,
    )

    header = read_wav_header(result.path)
    assert (header.sample_rate, header.channels) == (24_000, 1)
    assert header.seconds == pytest.approx(2.0, abs=0.05)


def test_audio_in_place_is_not_downloaded_again_but_a_stale_archive_is_refetched(
    server: LoopbackServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    make_wav(server.root / "a.wav", seconds=1.0)
    audio_dir, work, archive = _work(tmp_path)
    client = _client()
    out = audio_dir / "rec-a.wav"
    args = {"recording_id": "rec-a", "archive_file": archive, "work_dir": work}

    first = client.download_audio(server.url("a.wav"), out, **args)
    gets_after_first = len(server.gets("a.wav"))
    again = client.download_audio(server.url("a.wav"), out, **args)

    assert not first.from_archive
    assert again.from_archive
    assert again.path == out
    assert len(server.gets("a.wav")) == gets_after_first  # no request at all

    # The archive lists the video but its audio was removed: the caller needs it, so refetch.
    out.unlink()
    with caplog.at_level(logging.WARNING):
        refetched = client.download_audio(server.url("a.wav"), out, **args)
    assert not refetched.from_archive
    assert read_wav_header(out).sample_rate == 24_000
    assert "archive" in caplog.text
    assert archive.read_text().splitlines() == ["generic rec-a"]


def test_recordings_with_the_same_file_name_keep_their_own_archive_lines(
    server: LoopbackServer, tmp_path: Path
) -> None:
    make_wav(server.root / "r1" / "audio.wav", seconds=0.5)
    make_wav(server.root / "r2" / "audio.wav", seconds=0.7)
    audio_dir, work, archive = _work(tmp_path)
    client = _client()

    for key in ("r1", "r2"):
        client.download_audio(
            server.url(f"{key}/audio.wav"),
            audio_dir / f"{key}.wav",
            recording_id=key,
            archive_file=archive,
            work_dir=work,
        )

    assert archive.read_text().splitlines() == ["generic r1", "generic r2"]
    assert read_wav_header(audio_dir / "r2.wav").seconds == pytest.approx(0.7, abs=0.02)


def test_a_missing_video_raises_unavailable_naming_the_recording(
    server: LoopbackServer, tmp_path: Path
) -> None:
    audio_dir, work, archive = _work(tmp_path)
    url = server.url("gone.wav")

    with pytest.raises(VideoUnavailableError) as caught:
        _client().download_audio(
            url,
            audio_dir / "gone-1.wav",
            recording_id="gone-1",
            archive_file=archive,
            work_dir=work,
        )

    assert "gone-1" in str(caught.value)
    assert url in str(caught.value)
    assert "404" in caught.value.cause
    assert caught.value.recording_id == "gone-1"
    assert not (audio_dir / "gone-1.wav").exists()


def test_a_missing_local_file_is_unavailable(tmp_path: Path) -> None:
    audio_dir, work, archive = _work(tmp_path)
    missing = (tmp_path / "nowhere.wav").as_uri()
    with pytest.raises(VideoUnavailableError, match="missing-1"):
        _client(allow_file_urls=True).download_audio(
            missing,
            audio_dir / "m.wav",
            recording_id="missing-1",
            archive_file=archive,
            work_dir=work,
        )


def test_a_refused_connection_is_a_download_error(tmp_path: Path) -> None:
    audio_dir, work, archive = _work(tmp_path)
    url = f"http://127.0.0.1:{_closed_port()}/a.wav"
    with pytest.raises(DownloadError) as caught:
        _client().download_audio(
            url, audio_dir / "x.wav", recording_id="net-1", archive_file=archive, work_dir=work
        )
    assert not isinstance(caught.value, VideoUnavailableError)
    assert "net-1" in str(caught.value)
    assert "refused" in caught.value.cause.lower()


def test_a_playlist_url_is_refused_for_download(server: LoopbackServer, tmp_path: Path) -> None:
    (server.root / "feed.xml").write_text(rss_feed("c", [("v", "t", server.url("a.wav"), None)]))
    audio_dir, work, archive = _work(tmp_path)
    with pytest.raises(DownloadError, match="playlist"):
        _client().download_audio(
            server.url("feed.xml"),
            audio_dir / "p.wav",
            recording_id="p",
            archive_file=archive,
            work_dir=work,
        )


@pytest.mark.parametrize("bad_id", ["../escape", "a/b", "Upper", "", "x" * 200])
def test_unsafe_recording_ids_are_rejected_before_any_request(
    server: LoopbackServer, tmp_path: Path, bad_id: str
) -> None:
    audio_dir, work, archive = _work(tmp_path)
    with pytest.raises(UnsafeNameError):
        _client().download_audio(
            server.url("a.wav"),
            audio_dir / "x.wav",
            recording_id=bad_id,
            archive_file=archive,
            work_dir=work,
        )
    assert server.requests == []
    assert not work.exists()


def test_resumes_a_partial_download_left_in_the_work_dir(
    server: LoopbackServer, tmp_path: Path
) -> None:
    source = make_wav(server.root / "long.wav", seconds=4.0)
    audio_dir, work, archive = _work(tmp_path)
    work.mkdir(parents=True)
    half = source.stat().st_size // 2
    (work / "long-1.wav.part").write_bytes(source.read_bytes()[:half])

    result = _client().download_audio(
        server.url("long.wav"),
        audio_dir / "long-1.wav",
        recording_id="long-1",
        archive_file=archive,
        work_dir=work,
    )

    assert f"bytes={half}-" in [r.range for r in server.gets("long.wav")]
    assert read_wav_header(result.path).seconds == pytest.approx(4.0, abs=0.05)


def test_finishes_a_conversion_a_crash_left_in_the_work_dir(tmp_path: Path) -> None:
    audio_dir, work, archive = _work(tmp_path)
    make_wav(work / "crashed-1.wav", seconds=1.0, sample_rate=24_000, channels=1)
    unreachable = f"http://127.0.0.1:{_closed_port()}/a.wav"

    result = _client().download_audio(
        unreachable,
        audio_dir / "crashed-1.wav",
        recording_id="crashed-1",
        archive_file=archive,
        work_dir=work,
    )

    assert result.from_archive
    assert read_wav_header(result.path).seconds == pytest.approx(1.0)
    assert not (work / "crashed-1.wav").exists()


def test_a_truncated_wav_at_out_path_is_not_taken_for_finished(
    server: LoopbackServer, tmp_path: Path
) -> None:
    make_wav(server.root / "a.wav", seconds=1.0)
    audio_dir, work, archive = _work(tmp_path)
    complete = make_wav(tmp_path / "complete.wav", seconds=1.0, sample_rate=24_000, channels=1)
    out = audio_dir / "t-1.wav"
    out.parent.mkdir(parents=True)
    out.write_bytes(complete.read_bytes()[:5000])

    result = _client().download_audio(
        server.url("a.wav"), out, recording_id="t-1", archive_file=archive, work_dir=work
    )

    assert not result.from_archive
    assert read_wav_header(out).seconds == pytest.approx(1.0, abs=0.02)


@pytest.mark.parametrize(
    ("message", "status", "youtube", "gone"),
    [
        ("[youtube] abc: Private video. Sign in if you've been granted access", None, True, True),
        ("[youtube] abc: Video unavailable", None, True, True),
        ("[youtube] abc: This video has been removed by the uploader", None, True, True),
        (
            "[youtube] abc: Video unavailable. This content isn't available, try again later. "
            "The current session has been rate-limited by YouTube",
            None,
            True,
            False,
        ),
        ("[youtube] abc: Sign in to confirm you're not a bot", None, True, False),
        ("unable to download video data: HTTP Error 403: Forbidden", 403, True, False),
        ("[generic] x: Unable to download webpage: HTTP Error 403: Forbidden", 403, False, True),
        ("[generic] x: Unable to download webpage: HTTP Error 404: Not Found", 404, False, True),
        ("[generic] x: Unable to download webpage: HTTP Error 503", 503, False, False),
        ("Postprocessing: audio conversion failed", None, False, False),
    ],
)
def test_which_failures_mean_gone(
    message: str, status: int | None, youtube: bool, gone: bool
) -> None:
    assert is_gone(message, http_status=status, youtube=youtube) is gone
