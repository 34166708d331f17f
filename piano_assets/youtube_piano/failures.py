"""Download and listing failures, classified: permanent (gone) or worth a retry later. Dagster-free.

`classify_failure` is a pure function of what yt-dlp reported (its message, an HTTP status,
whether a local file was missing). `classify_error` reads the same from an exception: the
sources client's `VideoUnavailableError` / `DownloadError`, or a raw yt-dlp error. The verdict on
permanence is `piano_assets.sources.ytdlp.is_gone`'s, so the client and the ledger agree;
this module adds the category and a retry hint.
"""

from __future__ import annotations

import re
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from piano_assets.sources.errors import DownloadError, UnsupportedUrlError, VideoUnavailableError
from piano_assets.sources.ytdlp import is_gone

__all__ = [
    "DownloadFailure",
    "FailureCategory",
    "FailureKind",
    "classify_error",
    "classify_failure",
]


class FailureKind(StrEnum):
    PERMANENT = "permanent"  # private, removed, unavailable, 404: never retry
    RETRY_LATER = "retry_later"  # rate limit, network, timeout, server error: retry later


class FailureCategory(StrEnum):
    PRIVATE = "private"
    REMOVED = "removed"
    NOT_FOUND = "not_found"
    UNAVAILABLE = "unavailable"
    FORBIDDEN = "forbidden"
    UNSUPPORTED_URL = "unsupported_url"
    RATE_LIMITED = "rate_limited"
    BOT_CHECK = "bot_check"
    TIMEOUT = "timeout"
    NETWORK = "network"
    SERVER_ERROR = "server_error"
    OTHER = "other"


# Suggested wait before the next try, by category (seconds); YouTube limits a session to a few
# hundred videos an hour, so a rate limit waits longest.
_RETRY_AFTER_S: dict[FailureCategory, float] = {
    FailureCategory.RATE_LIMITED: 3600.0,
    FailureCategory.BOT_CHECK: 3600.0,
    FailureCategory.TIMEOUT: 300.0,
    FailureCategory.NETWORK: 300.0,
    FailureCategory.SERVER_ERROR: 600.0,
    FailureCategory.OTHER: 900.0,
}

# (category, pattern) tried in order; the first match names the category.
_PERMANENT_PATTERNS: tuple[tuple[FailureCategory, re.Pattern[str]], ...] = (
    (FailureCategory.PRIVATE, re.compile(r"private video|video is private")),
    (
        FailureCategory.REMOVED,
        re.compile(r"has been removed|no longer available|has been terminated|deleted video"),
    ),
    (
        FailureCategory.NOT_FOUND,
        re.compile(r"http error 404|http error 410|not found|no such file|does not exist"),
    ),
    (FailureCategory.FORBIDDEN, re.compile(r"http error 403|forbidden")),
)
_RETRY_PATTERNS: tuple[tuple[FailureCategory, re.Pattern[str]], ...] = (
    (
        FailureCategory.RATE_LIMITED,
        re.compile(r"http error 429|too many requests|rate.?limit|try again later"),
    ),
    (FailureCategory.BOT_CHECK, re.compile(r"not a bot|confirm you.re not|sign in to confirm")),
    (FailureCategory.TIMEOUT, re.compile(r"timed? ?out|timeout")),
    (
        FailureCategory.NETWORK,
        re.compile(
            r"connection refused|connection reset|connection aborted|network is unreachable|"
            r"name or service not known|temporary failure in name resolution|"
            r"nodename nor servname|no route to host|remote end closed|"
            r"errno 111|errno 104|errno 101|unable to connect|failed to resolve|"
            r"incompleteread|ssl"
        ),
    ),
    (FailureCategory.SERVER_ERROR, re.compile(r"http error 5\d\d")),
)


class DownloadFailure(BaseModel):
    """One classified failure, as the failure ledger stores it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: FailureKind
    category: FailureCategory
    message: str
    http_status: int | None = None
    retry_after_s: float | None = None

    @property
    def permanent(self) -> bool:
        return self.kind is FailureKind.PERMANENT


def _status_from_message(lowered: str) -> int | None:
    match = re.search(r"http error (\d{3})", lowered)
    return int(match.group(1)) if match else None


def classify_failure(
    message: str,
    *,
    http_status: int | None = None,
    missing_local_file: bool = False,
    youtube: bool = False,
) -> DownloadFailure:
    """Classify what yt-dlp reported. Pure: the same inputs always give the same verdict."""
    lowered = message.lower()
    status = http_status if http_status is not None else _status_from_message(lowered)
    permanent = is_gone(
        message, http_status=status, missing_local_file=missing_local_file, youtube=youtube
    )
    if permanent:
        category = FailureCategory.UNAVAILABLE
        if missing_local_file or status in (404, 410):
            category = FailureCategory.NOT_FOUND
        for candidate, pattern in _PERMANENT_PATTERNS:
            if pattern.search(lowered):
                category = candidate
                break
        if category is FailureCategory.NOT_FOUND and status == 403:
            category = FailureCategory.FORBIDDEN
        return DownloadFailure(
            kind=FailureKind.PERMANENT, category=category, message=message, http_status=status
        )
    category = FailureCategory.OTHER
    if status == 429:
        category = FailureCategory.RATE_LIMITED
    else:
        for candidate, pattern in _RETRY_PATTERNS:
            if pattern.search(lowered):
                category = candidate
                break
        if category is FailureCategory.OTHER and status is not None and 500 <= status < 600:
            category = FailureCategory.SERVER_ERROR
    return DownloadFailure(
        kind=FailureKind.RETRY_LATER,
        category=category,
        message=message,
        http_status=status,
        retry_after_s=_RETRY_AFTER_S.get(category),
    )


def classify_error(err: BaseException, *, youtube: bool = False) -> DownloadFailure:
    """Classify an exception from the sources client (or yt-dlp itself)."""
    if isinstance(err, UnsupportedUrlError):
        return DownloadFailure(
            kind=FailureKind.PERMANENT, category=FailureCategory.UNSUPPORTED_URL, message=str(err)
        )
    if isinstance(err, VideoUnavailableError):
        verdict = classify_failure(err.cause, youtube=youtube)
        if verdict.permanent:
            return verdict.model_copy(update={"message": str(err)})
        # The client already judged it gone (e.g. a missing local file): keep that verdict.
        return DownloadFailure(
            kind=FailureKind.PERMANENT,
            category=FailureCategory.NOT_FOUND
            if "no such file" in err.cause.lower() or "not found" in err.cause.lower()
            else FailureCategory.UNAVAILABLE,
            message=str(err),
            http_status=verdict.http_status,
        )
    if isinstance(err, DownloadError):
        verdict = classify_failure(err.cause, youtube=youtube)
        if verdict.permanent:
            # The client judged it transient; it had the HTTP status chain, trust it.
            return DownloadFailure(
                kind=FailureKind.RETRY_LATER,
                category=FailureCategory.OTHER,
                message=str(err),
                http_status=verdict.http_status,
                retry_after_s=_RETRY_AFTER_S[FailureCategory.OTHER],
            )
        return verdict.model_copy(update={"message": str(err)})
    return classify_failure(str(err).removeprefix("ERROR: "), youtube=youtube)
