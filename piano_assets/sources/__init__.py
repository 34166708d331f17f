"""Dagster-free clients for the outside world: yt-dlp listings and downloads, web pages, files."""

from piano_assets.sources.errors import (
    ChecksumMismatchError,
    DownloadError,
    FetchError,
    NotAudioError,
    SourceError,
    UnsupportedUrlError,
    VideoUnavailableError,
)
from piano_assets.sources.web import FetchedPage, PageFetcher, download_file
from piano_assets.sources.ytdlp import DownloadedAudio, ListingEntry, YtDlpClient

__all__ = [
    "ChecksumMismatchError",
    "DownloadError",
    "DownloadedAudio",
    "FetchError",
    "FetchedPage",
    "ListingEntry",
    "NotAudioError",
    "PageFetcher",
    "SourceError",
    "UnsupportedUrlError",
    "VideoUnavailableError",
    "YtDlpClient",
    "download_file",
]
