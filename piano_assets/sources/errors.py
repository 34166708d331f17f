"""Errors of the clients for the outside world; each names the URL/recording and the cause."""

from __future__ import annotations


class SourceError(Exception):
    """Base of every error the `piano_assets.sources` clients raise."""


class UnsupportedUrlError(SourceError, ValueError):
    """A URL whose scheme a client refuses (only http, https and, where allowed, file)."""


class OutOfScopeError(UnsupportedUrlError):
    """A URL outside a crawl's scope (another scheme or host, or outside a file:// folder)."""

    def __init__(self, url: str, reason: str):
        super().__init__(f"refusing {url!r}: {reason}")
        self.url = url
        self.reason = reason


class UrlSourceError(SourceError):
    """A listing or download of `url` failed; `cause` is the reason in the source's words and
    `recording_id` is set for downloads."""

    def __init__(self, message: str, *, url: str, cause: str, recording_id: str | None = None):
        super().__init__(message)
        self.url = url
        self.cause = cause
        self.recording_id = recording_id


class VideoUnavailableError(UrlSourceError):
    """The video is gone for good (404, private, removed): retrying will not help.

    `cause` is the reason as yt-dlp reported it; `recording_id` is set for downloads.
    """


class DownloadError(UrlSourceError):
    """Any other failure of a listing or download (network, rate limit, ffmpeg): worth a retry."""


class NotAudioError(UrlSourceError):
    """The source sent something that is not audio (a web page, JSON, random or damaged bytes):
    retrying will not help. The message says what came instead, in plain words."""


class FetchError(SourceError):
    """A page or file could not be fetched. `status` is the HTTP status when there was one."""

    def __init__(self, url: str, cause: str, *, status: int | None = None):
        status_part = f" (HTTP {status})" if status is not None else ""
        super().__init__(f"could not fetch {url}{status_part}: {cause}")
        self.url = url
        self.cause = cause
        self.status = status


class ChecksumMismatchError(FetchError):
    """A download finished but its sha256 is not the expected one; nothing was kept at dest."""

    def __init__(self, url: str, *, expected: str, actual: str):
        super().__init__(url, f"sha256 mismatch: expected {expected}, got {actual}")
        self.expected = expected
        self.actual = actual
