"""T4 download failures: permanent vs retry-later, from real yt-dlp runs on loopback and files."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from piano_assets.sources.errors import DownloadError, SourceError, VideoUnavailableError
from piano_assets.sources.ytdlp import YtDlpClient
from piano_assets.youtube_piano.failures import (
    FailureCategory,
    FailureKind,
    classify_error,
    classify_failure,
)
from piano_assets_tests.sources_fixtures import LoopbackServer, make_wav


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LoopbackServer]:
    with LoopbackServer(tmp_path / "www") as running:
        yield running


def _client(**kwargs: object) -> YtDlpClient:
    return YtDlpClient(allow_file_urls=True, retries=0, **kwargs)  # type: ignore[arg-type]


def _download_failure(client: YtDlpClient, url: str, tmp_path: Path) -> SourceError:
    with pytest.raises(SourceError) as caught:
        client.download_audio(
            url,
            tmp_path / "out" / "rec-a.wav",
            recording_id="rec-a",
            archive_file=tmp_path / "archive.txt",
            work_dir=tmp_path / "work",
        )
    return caught.value


def test_a_404_from_a_loopback_server_is_permanent(server: LoopbackServer, tmp_path: Path) -> None:
    err = _download_failure(_client(), server.url("media/removed.wav"), tmp_path)
    assert isinstance(err, VideoUnavailableError)
    failure = classify_error(err)
    assert failure.kind is FailureKind.PERMANENT
    assert failure.category is FailureCategory.NOT_FOUND
    assert "rec-a" in failure.message


def test_a_missing_local_file_is_permanent(tmp_path: Path) -> None:
    missing = (tmp_path / "media" / "gone.wav").as_uri()
    failure = classify_error(_download_failure(_client(), missing, tmp_path))
    assert (failure.kind, failure.category) == (FailureKind.PERMANENT, FailureCategory.NOT_FOUND)


def test_a_refused_connection_is_retried_later(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nobody listens on once the probe closes
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    err = _download_failure(_client(), f"http://127.0.0.1:{port}/x.wav", tmp_path)
    assert isinstance(err, DownloadError)
    failure = classify_error(err)
    assert (failure.kind, failure.category) == (FailureKind.RETRY_LATER, FailureCategory.NETWORK)
    assert failure.retry_after_s


def test_a_429_is_a_rate_limit(server: LoopbackServer, tmp_path: Path) -> None:
    make_wav(server.root / "media" / "a.wav", seconds=0.5)
    server.behaviour.statuses["/media/a.wav"] = [429, 429, 429]
    failure = classify_error(_download_failure(_client(), server.url("media/a.wav"), tmp_path))
    assert failure.kind is FailureKind.RETRY_LATER
    assert failure.category is FailureCategory.RATE_LIMITED
    assert failure.http_status == 429


def test_a_server_that_never_answers_times_out(tmp_path: Path) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:  # accept and stay silent
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/x.wav"
        failure = classify_error(_download_failure(_client(socket_timeout_s=0.5), url, tmp_path))
    finally:
        stop.set()
        thread.join(timeout=5)
        for conn in accepted:
            conn.close()
        listener.close()
    assert (failure.kind, failure.category) == (FailureKind.RETRY_LATER, FailureCategory.TIMEOUT)


@pytest.mark.parametrize(
    ("message", "kind", "category"),
    [
        (
            "[youtube] abc: Private video. Sign in if you've been granted access to this video",
            FailureKind.PERMANENT,
            FailureCategory.PRIVATE,
        ),
        (
            "[youtube] abc: Video unavailable. This video has been removed by the uploader",
            FailureKind.PERMANENT,
            FailureCategory.REMOVED,
        ),
        (
            "[youtube] abc: This video is no longer available because the YouTube account "
            "associated with this video has been terminated.",
            FailureKind.PERMANENT,
            FailureCategory.REMOVED,
        ),
        ("[youtube] abc: Video unavailable", FailureKind.PERMANENT, FailureCategory.UNAVAILABLE),
        (
            "[youtube] abc: Video unavailable. This content isn't available, try again later.",
            FailureKind.RETRY_LATER,
            FailureCategory.RATE_LIMITED,
        ),
        (
            "[youtube] abc: Sign in to confirm you're not a bot.",
            FailureKind.RETRY_LATER,
            FailureCategory.BOT_CHECK,
        ),
        (
            "HTTP Error 503: Service Unavailable",
            FailureKind.RETRY_LATER,
            FailureCategory.SERVER_ERROR,
        ),
        ("HTTP Error 404: Not Found", FailureKind.PERMANENT, FailureCategory.NOT_FOUND),
        (
            "Postprocessing: ffmpeg exited with code 1",
            FailureKind.RETRY_LATER,
            FailureCategory.OTHER,
        ),
    ],
)
def test_classifies_youtube_messages(
    message: str, kind: FailureKind, category: FailureCategory
) -> None:
    failure = classify_failure(message, youtube=True)
    assert (failure.kind, failure.category) == (kind, category)
    assert (failure.retry_after_s is None) == (kind is FailureKind.PERMANENT)


def test_a_youtube_403_is_retried_but_another_hosts_403_is_permanent() -> None:
    assert (
        classify_failure("HTTP Error 403: Forbidden", youtube=True).kind is FailureKind.RETRY_LATER
    )
    other = classify_failure("HTTP Error 403: Forbidden", youtube=False)
    assert (other.kind, other.category) == (FailureKind.PERMANENT, FailureCategory.FORBIDDEN)


def test_the_verdict_round_trips_through_json() -> None:
    failure = classify_failure("HTTP Error 429: Too Many Requests")
    assert type(failure).model_validate_json(failure.model_dump_json()) == failure
