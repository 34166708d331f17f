"""yt-dlp through its Python API: flat listings (channels, playlists, feeds) and 24 kHz mono WAV.

Offline (the sample world and the tests), yt-dlp's generic extractor stands in for YouTube: it
downloads direct media URLs (`http://127.0.0.1:PORT/x.wav`, or `file://` when allowed) and lists
RSS feeds. Real YouTube needs more than yt-dlp itself: the `yt-dlp-ejs` package and a JavaScript
runtime (deno, yt-dlp's default) to solve its player challenges. This client does not require
them; it logs a warning once when a YouTube URL is used without them
(see `youtube_runtime_problems`).
"""

from __future__ import annotations

import errno
import functools
import importlib.util
import logging
import math
import os
import shutil
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

import yt_dlp
from yt_dlp.extractor import gen_extractor_classes
from yt_dlp.networking.exceptions import HTTPError as YtDlpHttpError
from yt_dlp.utils import DownloadError as YtDlpDownloadError
from yt_dlp.utils import smuggle_url, unsmuggle_url

from piano_assets.engine.files import atomic_path, validate_key
from piano_assets.sources.errors import DownloadError, VideoUnavailableError
from piano_assets.sources.urls import WEB_SCHEMES, require_scheme
from piano_assets.sources.wav import InvalidWavError, is_complete_wav, read_wav_header

__all__ = [
    "TARGET_CHANNELS",
    "TARGET_SAMPLE_RATE",
    "DownloadError",
    "DownloadedAudio",
    "ListingEntry",
    "VideoUnavailableError",
    "YtDlpClient",
    "entry_from_info",
    "is_gone",
    "youtube_runtime_problems",
]

TARGET_SAMPLE_RATE = 24_000
TARGET_CHANNELS = 1
_MAX_NESTING = 2
_GENERIC_KEY = "Generic"

# Text yt-dlp uses for videos that are gone for good. Matched case-insensitively.
_GONE_MARKERS = (
    "private video",
    "video unavailable",
    "this video has been removed",
    "this video is no longer available",
    "has been terminated",
    "this video is not available",
    "video does not exist",
    "http error 404",
    "http error 410",
)
# YouTube's rate limiting reads "Video unavailable. This content isn't available, try again
# later": transient, so these win over the markers above.
_TRANSIENT_MARKERS = (
    "try again later",
    "rate-limit",
    "rate limit",
    "not a bot",
    "timed out",
    "temporarily",
)


@dataclass(frozen=True)
class ListingEntry:
    video_id: str
    title: str
    url: str
    playlist: str | None
    duration_s: float | None
    upload_date: str | None  # YYYYMMDD, UTC
    # What a flat YouTube listing tells about the video (None where the listing does not say).
    live_status: str | None = None  # is_live, is_upcoming, was_live, post_live, not_live
    availability: str | None = None  # public, unlisted, private, needs_auth, ...
    channel_id: str | None = None  # the uploader's UC... id


@dataclass(frozen=True)
class DownloadedAudio:
    video_id: str
    path: Path
    source_url: str
    title: str | None  # None when nothing was downloaded (the audio was already in place)
    from_archive: bool  # True when nothing was downloaded: the audio was already in place


def youtube_runtime_problems() -> list[str]:
    """What real YouTube downloads lack on this machine (empty when nothing is missing)."""
    problems = []
    if importlib.util.find_spec("yt_dlp_ejs") is None:
        problems.append("the yt-dlp-ejs package is not installed (`pip install yt-dlp-ejs`)")
    if shutil.which("deno") is None:
        problems.append("no `deno` on PATH (yt-dlp's default JavaScript runtime)")
    return problems


def is_gone(
    message: str,
    *,
    http_status: int | None = None,
    missing_local_file: bool = False,
    youtube: bool = False,
) -> bool:
    """Whether a yt-dlp failure means the video is gone for good rather than a passing fault.

    A 403 from YouTube is usually throttling or a missing PO token, so it counts as gone only
    for other hosts.
    """
    lowered = message.lower()
    if any(marker in lowered for marker in _TRANSIENT_MARKERS):
        return False
    if missing_local_file or http_status in (404, 410):
        return True
    if http_status == 403 or "http error 403" in lowered:
        return not youtube
    return any(marker in lowered for marker in _GONE_MARKERS)


@functools.cache
def _extractor_classes() -> tuple[Any, ...]:
    return tuple(gen_extractor_classes())


@functools.lru_cache(maxsize=4096)
def _extractor_for(url: str) -> Any:
    """The yt-dlp extractor class that would handle `url` (the generic one comes last)."""
    for extractor in _extractor_classes():
        if extractor.suitable(url):
            return extractor
    raise AssertionError("yt-dlp's generic extractor matches every URL")  # pragma: no cover


def _is_youtube(url: str) -> bool:
    return _extractor_for(url).ie_key().startswith("Youtube")


def _upload_date(info: dict[str, Any]) -> str | None:
    if info.get("upload_date"):
        return str(info["upload_date"])
    for key in ("timestamp", "release_timestamp"):
        if info.get(key) is not None:
            return datetime.fromtimestamp(float(info[key]), tz=UTC).strftime("%Y%m%d")
    return None


def _id_from_url(url: str) -> str:
    """The id the URL's extractor reads from it, else the file name without its extension."""
    if url and (temp_id := _extractor_for(url).get_temp_id(url)):
        return str(temp_id)
    name = PurePosixPath(unquote(urlsplit(url).path)).name
    return name.rsplit(".", 1)[0] if "." in name else (name or url)


def entry_from_info(info: dict[str, Any], *, playlist: str | None, flat: bool) -> ListingEntry:
    """One listing row from a yt-dlp info dict.

    Flat playlist entries carry the video page in `url`; a resolved video carries its media URL
    there and its page in `webpage_url`. RSS items smuggle the item's guid as `force_videoid`.
    """
    page_keys = ("url", "webpage_url", "original_url") if flat else ("webpage_url", "url")
    raw_url = next((str(info[key]) for key in page_keys if info.get(key)), "")
    url, smuggled = unsmuggle_url(raw_url, {})
    video_id = str(info.get("id") or smuggled.get("force_videoid") or _id_from_url(url))
    duration = info.get("duration")
    return ListingEntry(
        video_id=video_id,
        title=str(info.get("title") or video_id),
        url=url,
        playlist=playlist,
        duration_s=float(duration) if duration is not None else None,
        upload_date=_upload_date(info),
        live_status=str(info["live_status"]) if info.get("live_status") else None,
        availability=str(info["availability"]) if info.get("availability") else None,
        channel_id=str(info["channel_id"]) if info.get("channel_id") else None,
    )


def _names_a_playlist(entry: dict[str, Any]) -> bool:
    """A flat entry that points at another listing (a channel tab, a playlist)."""
    ie_key = str(entry.get("ie_key") or "")
    return entry.get("_type") == "url" and ie_key.endswith(("Tab", "Playlist", "Channel"))


def _failure_details(err: YtDlpDownloadError) -> tuple[str, int | None, bool]:
    """(message, HTTP status, whether a local file was missing) from yt-dlp's error chain."""
    message = str(err).removeprefix("ERROR: ").strip()
    status: int | None = None
    missing_file = False
    seen: list[BaseException] = []
    current: BaseException | None = err.exc_info[1] if err.exc_info else None
    while current is not None and current not in seen and len(seen) < 8:
        seen.append(current)
        if isinstance(current, YtDlpHttpError):
            status = current.status
        if isinstance(current, FileNotFoundError):
            missing_file = True
        cause = getattr(current, "cause", None)
        current = cause if isinstance(cause, BaseException) else current.__cause__
    return message, status, missing_file


class _LogAdapter:
    """yt-dlp's logger protocol onto a `logging.Logger`.

    Errors reach the caller as exceptions, so they are logged at debug level only.
    """

    def __init__(self, logger: logging.Logger):
        self._logger = logger

    def debug(self, message: str) -> None:
        self._logger.debug(message.removeprefix("[debug] "))

    def info(self, message: str) -> None:
        self._logger.debug(message)

    def warning(self, message: str) -> None:
        if "Falling back on generic information extractor" in message:
            self._logger.debug(message)  # expected for every direct media URL and RSS feed
        else:
            self._logger.warning(message)

    def error(self, message: str) -> None:
        self._logger.debug(message)


class _ProgressLogger:
    """A yt-dlp progress hook that logs the percentage at most every `every_s` seconds."""

    def __init__(self, logger: logging.Logger, recording_id: str, every_s: float):
        self._logger = logger
        self._recording_id = recording_id
        self._every_s = every_s
        self._last = -math.inf

    def __call__(self, status: dict[str, Any]) -> None:
        done = status.get("downloaded_bytes") or 0
        total = status.get("total_bytes") or status.get("total_bytes_estimate")
        if status.get("status") == "finished":
            self._logger.info(
                "%s: downloaded %.1f MB in %.1f s",
                self._recording_id,
                (status.get("total_bytes") or done) / 1e6,
                status.get("elapsed") or 0.0,
            )
            return
        if status.get("status") != "downloading":
            return
        now = time.monotonic()
        if now - self._last < self._every_s:
            return
        self._last = now
        if total:
            self._logger.info(
                "%s: downloading %.0f%% of %.1f MB",
                self._recording_id,
                100 * done / total,
                total / 1e6,
            )
        else:
            self._logger.info("%s: downloading, %.1f MB so far", self._recording_id, done / 1e6)


def _move_into_place(source: Path, target: Path) -> None:
    """Move `source` onto `target` atomically, across file systems too."""
    with atomic_path(target) as tmp:
        try:
            os.replace(source, tmp)
        except OSError as err:
            if err.errno != errno.EXDEV:
                raise
            shutil.copyfile(source, tmp)
            source.unlink()


class YtDlpClient:
    """Listings and audio downloads through yt-dlp, with errors that name the video and cause."""

    def __init__(
        self,
        *,
        ffmpeg_location: Path | None = None,
        allow_file_urls: bool = False,
        rate_limit_bps: int | None = None,
        retries: int = 3,
        socket_timeout_s: float = 20,
        cookies_file: Path | None = None,
        logger: logging.Logger | None = None,
        progress_every_s: float = 5.0,
        sleep_between_downloads_s: float | None = None,
    ):
        self._ffmpeg_location = ffmpeg_location
        self.allow_file_urls = allow_file_urls
        self.rate_limit_bps = rate_limit_bps
        self.retries = retries
        self.socket_timeout_s = socket_timeout_s
        self.cookies_file = cookies_file
        self.logger = logger or logging.getLogger(__name__)
        self.progress_every_s = progress_every_s
        # YouTube limits a session to a few hundred videos an hour; a pause between downloads helps.
        self.sleep_between_downloads_s = sleep_between_downloads_s
        self._warned_youtube = False

    @property
    def ffmpeg_location(self) -> Path:
        if self._ffmpeg_location is None:
            from piano_assets.engine.ffmpeg import ffmpeg_dir

            self._ffmpeg_location = ffmpeg_dir()
        return self._ffmpeg_location

    # -- listing -------------------------------------------------------------------------------

    def list_flat(self, url: str, *, expand_nested: bool = True) -> list[ListingEntry]:
        """The videos of a channel, playlist or RSS feed, without resolving each video.

        Entries that point at further listings (a channel's playlists) are listed too when
        `expand_nested`; a video listed twice is kept once, under the first playlist.
        """
        self._check_url(url)
        info = self._extract(url, self._options(extract_flat="in_playlist"))
        unique: dict[str, ListingEntry] = {}
        for entry in self._collect(info, playlist=None, depth=0, expand_nested=expand_nested):
            unique.setdefault(entry.video_id, entry)
        self.logger.info("listed %d videos from %s", len(unique), url)
        return list(unique.values())

    def _collect(
        self, info: dict[str, Any], *, playlist: str | None, depth: int, expand_nested: bool
    ) -> Iterable[ListingEntry]:
        if info.get("_type") not in ("playlist", "multi_video"):
            yield entry_from_info(info, playlist=playlist, flat=False)
            return
        title = str(info.get("title") or info.get("id") or "") or None
        for entry in info.get("entries") or ():
            if not entry:
                continue
            if entry.get("_type") in ("playlist", "multi_video"):
                yield from self._collect(
                    entry, playlist=title, depth=depth + 1, expand_nested=expand_nested
                )
            elif expand_nested and depth < _MAX_NESTING and _names_a_playlist(entry):
                nested = self._extract(str(entry["url"]), self._options(extract_flat="in_playlist"))
                yield from self._collect(
                    nested, playlist=title, depth=depth + 1, expand_nested=expand_nested
                )
            else:
                yield entry_from_info(entry, playlist=title, flat=True)

    # -- download ------------------------------------------------------------------------------

    def download_audio(
        self,
        url: str,
        out_path: Path,
        *,
        recording_id: str,
        archive_file: Path | None,
        work_dir: Path,
    ) -> DownloadedAudio:
        """Make `out_path` hold the video's audio as 24 kHz mono 16-bit WAV.

        Resumable: partial downloads stay in `work_dir` (yt-dlp `.part` files) and continue on
        the next call. `archive_file` is yt-dlp's download archive; when it lists the video but
        the audio is not at `out_path`, the audio is fetched again (the caller asked for it).
        """
        validate_key(recording_id)
        self._check_url(url)
        if is_complete_wav(out_path, sample_rate=TARGET_SAMPLE_RATE, channels=TARGET_CHANNELS):
            self.logger.info("%s: audio already at %s", recording_id, out_path)
            return DownloadedAudio(
                video_id=self._video_id_hint(url, recording_id),
                path=out_path,
                source_url=url,
                title=None,
                from_archive=True,
            )
        work_dir.mkdir(parents=True, exist_ok=True)
        converted = work_dir / f"{recording_id}.wav"
        if is_complete_wav(converted, sample_rate=TARGET_SAMPLE_RATE, channels=TARGET_CHANNELS):
            # A crash came between conversion and the final move: finish that move.
            self.logger.info("%s: finishing an earlier download left in %s", recording_id, work_dir)
            _move_into_place(converted, out_path)
            return DownloadedAudio(
                video_id=self._video_id_hint(url, recording_id),
                path=out_path,
                source_url=url,
                title=None,
                from_archive=True,
            )
        converted.unlink(missing_ok=True)

        target_url = self._with_stable_id(url, recording_id)
        info, produced, archived = self._run_download(
            target_url, url, recording_id, work_dir, archive_file
        )
        if archived:
            self.logger.warning(
                "%s: the download archive %s lists this video but %s is missing; fetching it again",
                recording_id,
                archive_file,
                out_path,
            )
            info, produced, _ = self._run_download(target_url, url, recording_id, work_dir, None)
        if produced is None or info is None:
            raise DownloadError(
                f"recording {recording_id}: yt-dlp finished without producing audio from {url}",
                url=url,
                recording_id=recording_id,
                cause="no output file",
            )
        self._check_converted(produced, url, recording_id)
        _move_into_place(produced, out_path)
        header = read_wav_header(out_path)
        self.logger.info("%s: audio ready at %s (%.1f s)", recording_id, out_path, header.seconds)
        return DownloadedAudio(
            video_id=str(info.get("id") or recording_id),
            path=out_path,
            source_url=url,
            title=info.get("title"),
            from_archive=False,
        )

    def _run_download(
        self,
        target_url: str,
        url: str,
        recording_id: str,
        work_dir: Path,
        archive_file: Path | None,
    ) -> tuple[dict[str, Any] | None, Path | None, bool]:
        """(info, produced file, whether the archive listed the video and nothing was fetched)."""
        params = self._download_options(recording_id, work_dir, archive_file)
        with yt_dlp.YoutubeDL(params) as ydl:
            try:
                # process=False: learn what the URL is before resolving anything it lists.
                info = ydl.extract_info(target_url, download=False, process=False)
                if info is None:
                    # yt-dlp matched the URL's id in the archive before extracting anything.
                    return None, None, True
                if info.get("_type") in ("playlist", "multi_video"):
                    raise DownloadError(
                        f"recording {recording_id}: {url} is a playlist, not one video",
                        url=url,
                        recording_id=recording_id,
                        cause="playlist URL",
                    )
                if archive_file is not None and ydl.in_download_archive(info):
                    return info, None, True
                info = ydl.process_ie_result(info, download=True)
            except YtDlpDownloadError as err:
                raise self._translate(err, url, recording_id) from err
        return info, self._produced_file(info, work_dir, recording_id), False

    @staticmethod
    def _produced_file(info: dict[str, Any], work_dir: Path, recording_id: str) -> Path | None:
        for download in info.get("requested_downloads") or ():
            path = download.get("filepath")
            if path and Path(path).is_file():
                return Path(path)
        expected = work_dir / f"{recording_id}.wav"
        return expected if expected.is_file() else None

    @staticmethod
    def _check_converted(path: Path, url: str, recording_id: str) -> None:
        try:
            header = read_wav_header(path)
        except InvalidWavError as err:
            raise DownloadError(
                f"recording {recording_id}: conversion of {url} gave no valid WAV: {err}",
                url=url,
                recording_id=recording_id,
                cause=str(err),
            ) from err
        if (header.sample_rate, header.channels) != (TARGET_SAMPLE_RATE, TARGET_CHANNELS):
            cause = f"{header.sample_rate} Hz, {header.channels} channels"
            raise DownloadError(
                f"recording {recording_id}: conversion of {url} gave {cause}, "
                f"not {TARGET_SAMPLE_RATE} Hz mono",
                url=url,
                recording_id=recording_id,
                cause=cause,
            )

    # -- options and helpers -------------------------------------------------------------------

    def _options(self, **extra: Any) -> dict[str, Any]:
        params: dict[str, Any] = {
            "logger": _LogAdapter(self.logger),
            "quiet": True,
            "noprogress": True,
            "ignoreerrors": False,  # errors must surface, one recording at a time
            "noplaylist": True,
            "retries": self.retries,
            "fragment_retries": self.retries,
            "extractor_retries": self.retries,
            "file_access_retries": self.retries,
            "socket_timeout": self.socket_timeout_s,
            "enable_file_urls": self.allow_file_urls,
        }
        if self.rate_limit_bps:
            params["ratelimit"] = self.rate_limit_bps
        if self.cookies_file is not None:
            params["cookiefile"] = str(self.cookies_file)
        params.update(extra)
        return params

    def _download_options(
        self, recording_id: str, work_dir: Path, archive_file: Path | None
    ) -> dict[str, Any]:
        if archive_file is not None:
            archive_file.parent.mkdir(parents=True, exist_ok=True)
        params = self._options(
            format="bestaudio/best",
            outtmpl={"default": f"{recording_id}.%(ext)s"},
            paths={"home": str(work_dir), "temp": str(work_dir)},
            continuedl=True,
            nopart=False,
            download_archive=str(archive_file) if archive_file is not None else None,
            ffmpeg_location=str(self.ffmpeg_location),
            postprocessors=[{"key": "FFmpegExtractAudio", "preferredcodec": "wav"}],
            postprocessor_args={
                "extractaudio+ffmpeg_o": [
                    "-ar",
                    str(TARGET_SAMPLE_RATE),
                    "-ac",
                    str(TARGET_CHANNELS),
                ]
            },
            progress_hooks=[_ProgressLogger(self.logger, recording_id, self.progress_every_s)],
        )
        if self.sleep_between_downloads_s:
            params["sleep_interval"] = self.sleep_between_downloads_s
        return params

    def _check_url(self, url: str) -> None:
        allowed = WEB_SCHEMES | {"file"} if self.allow_file_urls else WEB_SCHEMES
        require_scheme(url, allowed)
        if not self._warned_youtube and _is_youtube(url):
            self._warned_youtube = True
            if problems := youtube_runtime_problems():
                self.logger.warning(
                    "YouTube downloads will likely fail: %s. See yt-dlp's EJS wiki page.",
                    "; ".join(problems),
                )

    @staticmethod
    def _with_stable_id(url: str, recording_id: str) -> str:
        """For direct media URLs, make yt-dlp use the recording id as the video id.

        The generic extractor otherwise names a video after its file name, and two recordings
        served as `.../a/audio.wav` and `.../b/audio.wav` would share one archive line.
        """
        clean, smuggled = unsmuggle_url(url, {})
        if _extractor_for(clean).ie_key() != _GENERIC_KEY:
            return url
        return smuggle_url(clean, {**smuggled, "force_videoid": recording_id})

    @staticmethod
    def _video_id_hint(url: str, recording_id: str) -> str:
        """The video id yt-dlp would report, without any network access."""
        clean, _ = unsmuggle_url(url, {})
        extractor = _extractor_for(clean)
        if extractor.ie_key() == _GENERIC_KEY:
            return recording_id
        return str(extractor.get_temp_id(clean) or recording_id)

    def _extract(self, url: str, params: dict[str, Any]) -> dict[str, Any]:
        with yt_dlp.YoutubeDL(params) as ydl:
            try:
                info = ydl.extract_info(url, download=False)
            except YtDlpDownloadError as err:
                raise self._translate(err, url, None) from err
            if info is None:
                raise DownloadError(
                    f"yt-dlp returned nothing for {url}", url=url, cause="empty result"
                )
            return ydl.sanitize_info(info)

    @staticmethod
    def _translate(
        err: YtDlpDownloadError, url: str, recording_id: str | None
    ) -> VideoUnavailableError | DownloadError:
        message, status, missing_file = _failure_details(err)
        subject = f"recording {recording_id} ({url})" if recording_id else url
        clean, _ = unsmuggle_url(url, {})
        if is_gone(
            message,
            http_status=status,
            missing_local_file=missing_file,
            youtube=_is_youtube(clean),
        ):
            return VideoUnavailableError(
                f"{subject}: video unavailable: {message}",
                url=url,
                recording_id=recording_id,
                cause=message,
            )
        return DownloadError(
            f"{subject}: yt-dlp failed: {message}",
            url=url,
            recording_id=recording_id,
            cause=message,
        )
