"""yt-dlp through its Python API: flat listings (channels, playlists, feeds) and 24 kHz mono WAV.

Offline (the sample world and the tests), yt-dlp's generic extractor stands in for YouTube: it
downloads direct media URLs (`http://127.0.0.1:PORT/x.wav`, or `file://` when allowed) and lists
RSS feeds. Real YouTube needs more than yt-dlp itself: the `yt-dlp-ejs` package and a JavaScript
runtime (deno) to solve its player challenges. Both come with the dependency
`yt-dlp[default,deno]` (the `deno` wheel puts the binary in the venv's `bin/`). For YouTube URLs
the client hands yt-dlp the deno it finds (`find_deno`: a configured path, the wheel's own
lookup, the interpreter's `bin/`, PATH), so a worker started without the venv on PATH still has
it; it logs a warning once when something is missing (`youtube_runtime_problems`), and
`runtime_report` says what yt-dlp itself detects. YouTube also gets pacing by default
(`YOUTUBE_PACING`: a session is limited to about 300 videos an hour), and optionally a cookies
file and a PO-token provider (yt-dlp extractor arguments).
"""

from __future__ import annotations

import errno
import functools
import importlib.util
import logging
import math
import os
import shutil
import sys
import sysconfig
import time
import urllib.request
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

import yt_dlp
from yt_dlp.extractor import gen_extractor_classes
from yt_dlp.networking.exceptions import HTTPError as YtDlpHttpError
from yt_dlp.utils import DownloadError as YtDlpDownloadError
from yt_dlp.utils import smuggle_url, unsmuggle_url

from piano_assets.engine.files import atomic_path, validate_key
from piano_assets.sources.errors import DownloadError, NotAudioError, VideoUnavailableError
from piano_assets.sources.sniff import SNIFF_BYTES, sniff
from piano_assets.sources.urls import WEB_SCHEMES, file_url_path, require_scheme, url_scheme
from piano_assets.sources.wav import InvalidWavError, is_complete_wav, read_wav_header

__all__ = [
    "TARGET_CHANNELS",
    "TARGET_SAMPLE_RATE",
    "YOUTUBE_PACING",
    "DownloadError",
    "DownloadedAudio",
    "ListingEntry",
    "NotAudioError",
    "Pacing",
    "RuntimeReport",
    "VideoUnavailableError",
    "YtDlpClient",
    "entry_from_info",
    "find_deno",
    "is_gone",
    "parse_extractor_args",
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


class ListingLike(Protocol):
    """What a catalog reads of a listing row: a `ListingEntry` or a read-only look-alike."""

    @property
    def video_id(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def url(self) -> str: ...
    @property
    def playlist(self) -> str | None: ...
    @property
    def duration_s(self) -> float | None: ...
    @property
    def upload_date(self) -> str | None: ...


class YouTubeListingLike(ListingLike, Protocol):
    """A listing row with what a flat YouTube listing adds (T4 filters on it)."""

    @property
    def live_status(self) -> str | None: ...
    @property
    def availability(self) -> str | None: ...


@dataclass(frozen=True)
class DownloadedAudio:
    video_id: str
    path: Path
    source_url: str
    title: str | None  # None when nothing was downloaded (the audio was already in place)
    from_archive: bool  # True when nothing was downloaded: the audio was already in place
    # The duration the source declares (yt-dlp's info['duration']), to compare with the
    # decoded one; None when it declares none or nothing was downloaded.
    declared_seconds: float | None = None

    def declared_durations(self, listed_seconds: float | None) -> dict[str, float]:
        """What the source says the audio lasts: yt-dlp's duration, else the listing's."""
        if self.declared_seconds:
            return {"yt-dlp": float(self.declared_seconds)}
        if listed_seconds:
            return {"channel listing": float(listed_seconds)}
        return {}


@dataclass(frozen=True)
class Pacing:
    """Pauses yt-dlp makes (its `--sleep-interval`, `--max-sleep-interval`, `--sleep-requests`).

    None: the default (YouTube: `YOUTUBE_PACING`; other hosts: no pause); 0: no pause.
    """

    sleep_interval_s: float | None = None  # before each download (lower bound when max is set)
    max_sleep_interval_s: float | None = None  # random pause up to this before each download
    sleep_requests_s: float | None = None  # between the requests of one extraction


# yt-dlp's wiki: YouTube allows a session about 300 videos an hour (one per 12 s on average);
# it advises 5-10 s between downloads. A guest session gets less than a signed-in one.
YOUTUBE_PACING = Pacing(sleep_interval_s=5.0, max_sleep_interval_s=10.0, sleep_requests_s=1.0)
# The extractor arguments of the bgutil PO-token provider plugin (bgutil-ytdlp-pot-provider).
PO_TOKEN_PROVIDER_EXTRACTOR = "youtubepot-bgutilhttp"  # noqa: S105 - an extractor key


@dataclass(frozen=True)
class RuntimeReport:
    """What yt-dlp itself detects with the client's options for one URL (its verbose header)."""

    url: str
    js_runtimes: str  # e.g. "deno-2.9.8", or "none"
    optional_libraries: str  # e.g. "..., yt_dlp_ejs-0.8.0"
    problems: list[str] = field(default_factory=list)


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def find_deno(explicit: Path | None = None) -> Path | None:
    """The deno binary yt-dlp should use, or None.

    An `explicit` path is the only answer when given (None if it is not an executable).
    Otherwise, in order: the `deno` wheel's own lookup (the venv's scripts folder), the folder
    of this interpreter (a venv's `bin/`, reached without activating the venv), the
    interpreter's scripts folder, and PATH.
    """
    if explicit is not None:
        return explicit if _executable(explicit) else None
    name = "deno" + (sysconfig.get_config_var("EXE") or "")
    candidates: list[Path] = []
    try:
        from deno import find_deno_bin

        candidates.append(Path(find_deno_bin()))
    except (ImportError, FileNotFoundError):
        pass
    candidates.append(Path(sys.executable).parent / name)  # not resolved: the venv's bin/
    candidates.append(Path(sysconfig.get_path("scripts")) / name)
    if on_path := shutil.which("deno"):
        candidates.append(Path(on_path))
    return next((path for path in candidates if _executable(path)), None)


def youtube_runtime_problems(js_runtime_path: Path | None = None) -> list[str]:
    """What real YouTube downloads lack on this machine (empty when nothing is missing)."""
    problems = []
    if importlib.util.find_spec("yt_dlp_ejs") is None:
        problems.append("the yt-dlp-ejs package is not installed (install `yt-dlp[default,deno]`)")
    if find_deno(js_runtime_path) is None:
        where = (
            f"{js_runtime_path} is not an executable"
            if js_runtime_path
            else ("no deno binary in this interpreter's bin/ nor on PATH")
        )
        problems.append(f"no JavaScript runtime for YouTube's challenges: {where}")
    return problems


def parse_extractor_args(specs: Sequence[str]) -> dict[str, dict[str, list[str]]]:
    """yt-dlp's `--extractor-args` syntax: "IE_KEY:ARG=VALUE[,VALUE...][;ARG=VALUE...]".

    e.g. ["youtube:player_client=web,mweb;po_token=web.gvs+TOKEN"].
    """
    parsed: dict[str, dict[str, list[str]]] = {}
    for spec in specs:
        key, sep, arguments = spec.partition(":")
        if not sep or not key.strip() or "=" not in arguments:
            raise ValueError(
                f"extractor argument {spec!r} is not of the form IE_KEY:ARG=VALUE[;ARG=VALUE]"
            )
        target = parsed.setdefault(key.strip().lower(), {})
        for argument in arguments.split(";"):
            name, _, values = argument.partition("=")
            if name.strip():
                target[name.strip().replace("-", "_")] = [v.strip() for v in values.split(",")]
    return parsed


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


# yt-dlp failures that come from what the source sent (as opposed to the network).
_CONTENT_FAILURE_MARKERS = (
    "unsupported url",
    "did not get any data blocks",
    "postprocessing",
    "ffprobe",
    "ffmpeg",
    "audio codec",
    "invalid data",
    "no valid wav",
    "conversion of",
)


def _is_content_failure(message: str) -> bool:
    lowered = message.lower()
    return any(marker in lowered for marker in _CONTENT_FAILURE_MARKERS)


def _scratch_files(work_dir: Path, recording_id: str) -> list[Path]:
    """Every file in `work_dir` yt-dlp made for `recording_id` ('<id>.<ext>', '.part', ...)."""
    if not work_dir.is_dir():
        return []
    prefix = f"{recording_id}."
    return [p for p in work_dir.iterdir() if p.name.startswith(prefix) and p.is_file()]


def _raw_download(work_dir: Path, recording_id: str) -> Path | None:
    """The finished raw download of a recording in `work_dir`, if there is one."""
    finished = [
        p for p in _scratch_files(work_dir, recording_id) if p.suffix not in (".part", ".ytdl")
    ]
    return max(finished, key=lambda p: p.stat().st_size, default=None)


def _read_head(path: Path) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(SNIFF_BYTES)


def _clean_scratch(work_dir: Path, recording_id: str, *, keep_partial: bool) -> None:
    """Delete a recording's scratch files; `keep_partial` keeps an unfinished `.part` (with its
    `.ytdl` state) so that an interrupted transfer resumes."""
    for path in _scratch_files(work_dir, recording_id):
        if keep_partial and (path.suffix in (".part", ".ytdl") or ".part-Frag" in path.name):
            continue
        path.unlink(missing_ok=True)


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
        pacing: Pacing | None = None,
        js_runtime_path: Path | None = None,
        po_token_provider_url: str | None = None,
        extractor_args: dict[str, dict[str, list[str]]] | None = None,
    ):
        self._ffmpeg_location = ffmpeg_location
        self.allow_file_urls = allow_file_urls
        self.rate_limit_bps = rate_limit_bps
        self.retries = retries
        self.socket_timeout_s = socket_timeout_s
        self.cookies_file = cookies_file
        self.logger = logger or logging.getLogger(__name__)
        self.progress_every_s = progress_every_s
        # YouTube limits a session to about 300 videos an hour: pace it (YOUTUBE_PACING).
        if pacing is None and sleep_between_downloads_s is not None:
            pacing = Pacing(sleep_interval_s=sleep_between_downloads_s)
        self.pacing = pacing or Pacing()
        self.js_runtime_path = js_runtime_path
        self.po_token_provider_url = po_token_provider_url
        self.extractor_args = extractor_args or {}
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
        info = self._extract(url, self.options_for(url, extract_flat="in_playlist"))
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
                nested_url = str(entry["url"])
                nested = self._extract(
                    nested_url, self.options_for(nested_url, extract_flat="in_playlist")
                )
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
            return self._already_in_place(url, out_path, recording_id)
        work_dir.mkdir(parents=True, exist_ok=True)
        converted = work_dir / f"{recording_id}.wav"
        if is_complete_wav(converted, sample_rate=TARGET_SAMPLE_RATE, channels=TARGET_CHANNELS):
            # A crash came between conversion and the final move: finish that move.
            self.logger.info("%s: finishing an earlier download left in %s", recording_id, work_dir)
            _move_into_place(converted, out_path)
            return self._already_in_place(url, out_path, recording_id)
        converted.unlink(missing_ok=True)
        try:
            info = self._download_into_place(url, out_path, recording_id, archive_file, work_dir)
        except Exception as err:
            # Say in plain words what came instead of audio, then leave no raw bytes behind;
            # only an interrupted transfer keeps its .part, to resume on the next call.
            plain = self._not_audio(err, url, recording_id, work_dir)
            resumable = plain is None and isinstance(err, DownloadError)
            resumable = resumable and not _is_content_failure(str(err))
            _clean_scratch(work_dir, recording_id, keep_partial=resumable)
            if plain is not None:
                raise plain from err
            raise
        _clean_scratch(work_dir, recording_id, keep_partial=False)
        header = read_wav_header(out_path)
        self.logger.info("%s: audio ready at %s (%.1f s)", recording_id, out_path, header.seconds)
        duration = info.get("duration")
        return DownloadedAudio(
            video_id=str(info.get("id") or recording_id),
            path=out_path,
            source_url=url,
            title=info.get("title"),
            from_archive=False,
            declared_seconds=float(duration) if isinstance(duration, (int, float)) else None,
        )

    def _already_in_place(self, url: str, out_path: Path, recording_id: str) -> DownloadedAudio:
        """The audio was already downloaded: nothing is fetched, the listing gives no title."""
        return DownloadedAudio(
            video_id=self._video_id_hint(url, recording_id),
            path=out_path,
            source_url=url,
            title=None,
            from_archive=True,
        )

    def _download_into_place(
        self,
        url: str,
        out_path: Path,
        recording_id: str,
        archive_file: Path | None,
        work_dir: Path,
    ) -> dict[str, Any]:
        """Download, convert and check; the converted WAV is renamed onto `out_path` only
        when it is whole. Returns yt-dlp's info dict."""
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
        return info

    def _not_audio(
        self, err: Exception, url: str, recording_id: str, work_dir: Path
    ) -> NotAudioError | None:
        """A NotAudioError in plain words when the failure came from what the source sent."""
        if not isinstance(err, DownloadError) or not _is_content_failure(err.cause):
            return None
        clean, _ = unsmuggle_url(url, {})
        raw = _raw_download(work_dir, recording_id)
        head = _read_head(raw) if raw is not None else self._peek(clean)
        if head is None:
            return None
        found = sniff(head)
        local = url_scheme(clean) == "file"
        if found.media is not None:
            what = f"{found.what} that cannot be decoded (damaged or cut short)"
        else:
            what = found.what
        where = f"the file holds {what}" if local else f"the server sent {what}"
        return NotAudioError(
            f"recording {recording_id} from {url} is not audio: {where}",
            url=url,
            recording_id=recording_id,
            cause=where,
        )

    def _peek(self, url: str) -> bytes | None:
        """The first bytes at a direct media URL (the generic extractor's), else None."""
        if _extractor_for(url).ie_key() != _GENERIC_KEY:
            return None
        if url_scheme(url) == "file":
            try:
                return _read_head(file_url_path(url))
            except (OSError, ValueError):
                return None
        request = urllib.request.Request(  # noqa: S310 - http(s) only, checked by _check_url
            url, headers={"Accept-Encoding": "identity"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.socket_timeout_s) as response:  # noqa: S310
                return response.read(SNIFF_BYTES)
        except (OSError, ValueError):
            return None

    def _run_download(
        self,
        target_url: str,
        url: str,
        recording_id: str,
        work_dir: Path,
        archive_file: Path | None,
    ) -> tuple[dict[str, Any] | None, Path | None, bool]:
        """(info, produced file, whether the archive listed the video and nothing was fetched)."""
        params = self._download_options(url, recording_id, work_dir, archive_file)
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

    def options_for(self, url: str, **extra: Any) -> dict[str, Any]:
        """yt-dlp's options for `url`: the common ones, plus for YouTube the JS runtime, the
        pacing (YOUTUBE_PACING unless set), the PO-token provider; cookies and extractor
        arguments wherever given. Warns once when YouTube lacks its runtime."""
        params = self._options(**extra)
        clean, _ = unsmuggle_url(url, {})
        youtube = _is_youtube(clean)
        if self.cookies_file is not None:
            if not self.cookies_file.is_file():
                raise DownloadError(
                    f"cookies file {self.cookies_file} does not exist (setting "
                    "PIANO_ASSETS_YTDLP_COOKIES_FILE): export one from a browser in Netscape "
                    "format, or unset it",
                    url=url,
                    cause="missing cookies file",
                )
            params["cookiefile"] = str(self.cookies_file)
        extractor_args = {key: dict(value) for key, value in self.extractor_args.items()}
        if youtube:
            self._warn_once_without_runtime()
            deno = find_deno(self.js_runtime_path)
            # The path given explicitly, so yt-dlp needs neither PATH nor the venv's scripts
            # folder; a wrong explicit path is passed on so yt-dlp reports it as missing.
            path = deno or self.js_runtime_path
            params["js_runtimes"] = {"deno": {"path": str(path)}} if path else {"deno": {}}
            if self.po_token_provider_url:
                extractor_args.setdefault(PO_TOKEN_PROVIDER_EXTRACTOR, {})["base_url"] = [
                    self.po_token_provider_url
                ]
        params.update(self._pacing_options(youtube, url_scheme_is_file=clean.startswith("file:")))
        if extractor_args:
            params["extractor_args"] = extractor_args
        params.update(extra)
        return params

    def _pacing_options(self, youtube: bool, *, url_scheme_is_file: bool) -> dict[str, float]:
        """yt-dlp's sleep options: what `pacing` sets, else the host's default (YouTube's)."""
        if url_scheme_is_file:
            return {}
        default, chosen = (YOUTUBE_PACING if youtube else Pacing()), self.pacing
        if chosen.sleep_interval_s is None:
            sleep = default.sleep_interval_s
            longest = chosen.max_sleep_interval_s or default.max_sleep_interval_s
        else:  # set explicitly: a fixed pause unless a maximum is set too; 0: none
            sleep, longest = chosen.sleep_interval_s, chosen.max_sleep_interval_s
        requests = chosen.sleep_requests_s
        requests = default.sleep_requests_s if requests is None else requests
        options: dict[str, float] = {}
        if sleep:
            options["sleep_interval"] = float(sleep)
            if longest and longest > sleep:
                options["max_sleep_interval"] = float(longest)
        if requests:
            options["sleep_interval_requests"] = float(requests)
        return options

    def runtime_report(self, url: str) -> RuntimeReport:
        """What yt-dlp detects with this client's options for `url`: it prints a verbose
        header (JS runtimes, optional libraries) when it starts; nothing is fetched."""
        lines: dict[str, str] = {}

        class _Header:
            def debug(self, message: str) -> None:
                name, sep, value = message.removeprefix("[debug] ").partition(": ")
                if sep:
                    lines[name] = value

            def info(self, message: str) -> None: ...

            def warning(self, message: str) -> None: ...

            def error(self, message: str) -> None: ...

        params = self.options_for(url)
        params.update(verbose=True, logger=_Header(), quiet=False)
        with yt_dlp.YoutubeDL(params):
            pass
        return RuntimeReport(
            url=url,
            js_runtimes=lines.get("JS runtimes", "unknown"),
            optional_libraries=lines.get("Optional libraries", ""),
            problems=youtube_runtime_problems(self.js_runtime_path) if _is_youtube(url) else [],
        )

    def _warn_once_without_runtime(self) -> None:
        if self._warned_youtube:
            return
        self._warned_youtube = True
        if problems := youtube_runtime_problems(self.js_runtime_path):
            self.logger.warning(
                "YouTube downloads will fail without them: %s. Install `yt-dlp[default,deno]` "
                "into this environment or set PIANO_ASSETS_YTDLP_JS_RUNTIME_PATH",
                "; ".join(problems),
            )

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
        params.update(extra)
        return params

    def _download_options(
        self, url: str, recording_id: str, work_dir: Path, archive_file: Path | None
    ) -> dict[str, Any]:
        if archive_file is not None:
            archive_file.parent.mkdir(parents=True, exist_ok=True)
        return self.options_for(
            url,
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

    def _check_url(self, url: str) -> None:
        allowed = WEB_SCHEMES | {"file"} if self.allow_file_urls else WEB_SCHEMES
        require_scheme(url, allowed)

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
