"""Bad audio on the T2 download path: plain errors that name the recording and the source, no
raw bytes left in the scratch folder, never a partial file where a finished one belongs, and
the duration yt-dlp declared handed back with the download.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from piano_assets.chopin2021.adapter import Chopin2021Source
from piano_assets.chopin2021.catalog import RecordingSpec
from piano_assets.chopin2021.paths import Chopin2021Paths
from piano_assets.chopin2021.results import Placement, Round
from piano_assets.engine import SegmentPolicy
from piano_assets.layout import ModelRepoLayout
from piano_assets.lib.jsonl import write_jsonl
from piano_assets.lib.recording_steps import DurationTolerance, prepare_audio
from piano_assets.sources.errors import NotAudioError
from piano_assets.sources.ytdlp import YtDlpClient
from piano_assets_tests.sources_fixtures import LoopbackServer, make_wav

SIGN_IN_PAGE = (
    "<!DOCTYPE html>\n<html><head><title>Sign in – Example</title></head>"
    "<body><form>Please sign in to continue</form></body></html>\n"
) * 20
JARGON = ("ffprobe", "ffmpeg", "yt-dlp", "Postprocessing", "Unsupported URL", "codec")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LoopbackServer]:
    with LoopbackServer(tmp_path / "www") as loopback:
        yield loopback


def _client() -> YtDlpClient:
    return YtDlpClient(retries=0, socket_timeout_s=5, allow_file_urls=True)


def _scratch(work: Path, recording_id: str) -> list[str]:
    return sorted(p.name for p in work.glob(f"{recording_id}*")) if work.is_dir() else []


def _download(url: str, tmp_path: Path, recording_id: str) -> NotAudioError:
    work, out = tmp_path / "work", tmp_path / "audio" / f"{recording_id}.wav"
    with pytest.raises(NotAudioError) as raised:
        _client().download_audio(
            url, out, recording_id=recording_id, archive_file=tmp_path / "a.txt", work_dir=work
        )
    assert not out.exists()
    assert _scratch(work, recording_id) == []
    message = str(raised.value)
    assert recording_id in message and url in message
    assert not [word for word in JARGON if word.lower() in message.lower()], message
    return raised.value


@pytest.mark.parametrize(
    ("name", "content_type", "body", "expected"),
    [
        (
            "page.wav",
            "text/html; charset=utf-8",
            SIGN_IN_PAGE.encode(),
            "the server sent an HTML page",
        ),
        (
            "page2.wav",
            "application/octet-stream",
            SIGN_IN_PAGE.encode(),
            "the server sent an HTML page titled 'Sign in – Example'",
        ),
        (
            "noise.wav",
            "application/octet-stream",
            os.urandom(120_000),
            "the server sent bytes in no audio or video format",
        ),
        (
            "data.json",
            "application/octet-stream",
            json.dumps({"error": "quota"}).encode() * 50,
            "the server sent JSON",
        ),
        ("empty.wav", "application/octet-stream", b"", "the server sent an empty file"),
    ],
)
def test_served_non_audio_gets_a_plain_message_and_leaves_no_scratch(
    server: LoopbackServer,
    tmp_path: Path,
    name: str,
    content_type: str,
    body: bytes,
    expected: str,
) -> None:
    (server.root / name).write_bytes(body)
    server.behaviour.content_types[f"/{name}"] = content_type
    url = server.url(name)
    err = _download(url, tmp_path, "s1-test-01")
    assert f"recording s1-test-01 from {url} is not audio: {expected}" in str(err)
    assert err.recording_id == "s1-test-01" and err.url == url


def test_a_local_html_file_is_named_as_a_file(tmp_path: Path) -> None:
    page = tmp_path / "media" / "video.wav"
    page.parent.mkdir()
    page.write_text(SIGN_IN_PAGE, encoding="utf-8")
    err = _download(page.as_uri(), tmp_path, "s2-test-01")
    assert "is not audio: the file holds an HTML page titled 'Sign in – Example'" in str(err)


def test_declared_duration_comes_back_with_the_download(
    server: LoopbackServer, tmp_path: Path
) -> None:
    make_wav(server.root / "short.wav", seconds=2.0)
    ld = {
        "@context": "https://schema.org",
        "@type": "VideoObject",
        "name": "STAGE I – a performance",
        "contentUrl": server.url("short.wav"),
        "duration": "PT35S",
        "uploadDate": "2021-10-04",
        "thumbnailUrl": server.url("t.jpg"),
        "description": "d",
    }
    (server.root / "watch.html").write_text(
        '<!DOCTYPE html><html><head><title>x</title><script type="application/ld+json">'
        f"{json.dumps(ld)}</script></head><body></body></html>",
        encoding="utf-8",
    )
    server.behaviour.content_types["/watch.html"] = "text/html; charset=utf-8"
    work = tmp_path / "work"
    downloaded = _client().download_audio(
        server.url("watch.html"),
        tmp_path / "audio" / "s1-decl-01.wav",
        recording_id="s1-decl-01",
        archive_file=None,
        work_dir=work,
    )
    assert downloaded.declared_seconds == 35.0  # what the page says; the audio holds 2 s
    assert _scratch(work, "s1-decl-01") == []
    direct = _client().download_audio(
        server.url("short.wav"),
        tmp_path / "audio" / "s1-direct-01.wav",
        recording_id="s1-direct-01",
        archive_file=None,
        work_dir=work,
    )
    assert direct.declared_seconds is None  # a bare file declares nothing


def test_t2_fetch_audio_names_the_recording_and_the_source(
    server: LoopbackServer, tmp_path: Path
) -> None:
    (server.root / "gone.wav").write_text(SIGN_IN_PAGE, encoding="utf-8")
    server.behaviour.content_types["/gone.wav"] = "text/html"
    root = tmp_path / "repo"
    root.mkdir()
    paths = Chopin2021Paths(ModelRepoLayout(root))
    spec = RecordingSpec(
        recording_id="s1-liu-bruce-xiaoyu-01",
        video_id="abc",
        title="BRUCE (XIAOYU) LIU – first round (18th Chopin Competition, Warsaw)",
        source_url=server.url("gone.wav"),
        performer="Bruce (Xiaoyu) Liu",
        country="Canada",
        round=Round.STAGE_I,
        placement=Placement.FIRST_PRIZE,
        ordinal=10,
        match_reason="test",
    )
    paths.catalog.parent.mkdir(parents=True, exist_ok=True)
    write_jsonl(paths.catalog, [spec])
    source = Chopin2021Source(paths, _client())
    with pytest.raises(NotAudioError) as raised:  # through the factory's audio step
        prepare_audio(
            source, spec.recording_id, paths.recordings(), SegmentPolicy(), DurationTolerance()
        )
    message = str(raised.value)
    assert message.startswith(
        f"recording s1-liu-bruce-xiaoyu-01 from {spec.source_url} is not audio: "
        "the server sent an HTML page"
    )
    assert not paths.audio(spec.recording_id).exists()
    assert not paths.recordings().audio_record(spec.recording_id).exists()
    leftovers = [p for p in paths.downloads.rglob("*") if p.is_file() and "archive" not in p.name]
    assert leftovers == []
