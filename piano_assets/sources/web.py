"""Web pages fetched once and kept raw for provenance, and resumable, verified file downloads.

Standard library only (urllib). Only http, https and file URLs are accepted, and redirects may
only lead to http or https. A `PageFetcher` with a `CrawlScope` also refuses any URL, and any
redirect, outside its scope (another scheme or host, or outside a `file://` folder).
"""

from __future__ import annotations

import codecs
import contextlib
import hashlib
import logging
import mimetypes
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import Message
from http.client import HTTPException, HTTPMessage, HTTPResponse
from pathlib import Path
from typing import IO, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from piano_assets.engine.files import atomic_write_bytes, atomic_write_text, sha256_file
from piano_assets.sources.errors import ChecksumMismatchError, FetchError, OutOfScopeError
from piano_assets.sources.urls import (
    WEB_SCHEMES,
    CrawlScope,
    file_url_path,
    require_scheme,
    url_slug,
)

__all__ = [
    "ChecksumMismatchError",
    "CrawlScope",
    "FetchError",
    "FetchedPage",
    "PageFetcher",
    "PageRecord",
    "PartialDownload",
    "download_file",
]

FETCH_SCHEMES = WEB_SCHEMES | {"file"}
DEFAULT_USER_AGENT = "piano-assets/0.1"
# Statuses worth another try; any other HTTP error is final.
_RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
_SNIFF_BYTES = 4096
_META_CHARSET = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_.:-]+)""", re.IGNORECASE
)
_XML_ENCODING = re.compile(rb"""^<\?xml[^>]+encoding\s*=\s*["']([a-zA-Z0-9_.:-]+)""")
_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")
_UNSATISFIED_RANGE = re.compile(r"bytes\s+\*/(\d+)")

_log = logging.getLogger(__name__)
_T = TypeVar("_T")


class _RetryableError(Exception):
    """A failure worth another attempt (network fault, 5xx, truncated body)."""

    def __init__(self, cause: str, status: int | None = None):
        super().__init__(cause)
        self.cause = cause
        self.status = status


class _WebOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """Follow redirects only to http(s) (urllib's default also follows ftp), within `scope`."""

    def __init__(self, scope: CrawlScope | None = None):
        super().__init__()
        self.scope = scope

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: HTTPMessage,
        newurl: str,
    ) -> urllib.request.Request | None:
        if urllib.parse.urlsplit(newurl).scheme.lower() not in WEB_SCHEMES:
            raise FetchError(req.full_url, f"redirect to a non-web URL {newurl!r} refused")
        if self.scope is not None and (reason := self.scope.refusal(newurl)) is not None:
            raise OutOfScopeError(req.full_url, f"redirect to {newurl} refused: {reason}")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_OPENER = urllib.request.build_opener(_WebOnlyRedirects)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _open(
    url: str, headers: dict[str, str], timeout_s: float, scope: CrawlScope | None = None
) -> HTTPResponse:
    """Open an http(s) URL; HTTP errors become `FetchError` or `_RetryableError`.

    With a `scope`, a redirect out of it raises `OutOfScopeError` before it is followed.
    """
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - scheme checked by callers
    opener = _OPENER if scope is None else urllib.request.build_opener(_WebOnlyRedirects(scope))
    try:
        return opener.open(request, timeout=timeout_s)
    except urllib.error.HTTPError as err:
        err.close()
        if err.code in _RETRY_STATUSES:
            raise _RetryableError(f"HTTP {err.code} {err.reason}", err.code) from err
        raise FetchError(url, f"{err.reason}", status=err.code) from err
    except (urllib.error.URLError, TimeoutError, ConnectionError, HTTPException) as err:
        reason = getattr(err, "reason", err)
        raise _RetryableError(f"{type(err).__name__}: {reason}") from err


def _retrying(attempt: Callable[[], _T], url: str, retries: int) -> _T:
    last: _RetryableError | None = None
    for number in range(retries + 1):
        if number:
            time.sleep(min(0.25 * 2**number, 5.0))
        try:
            return attempt()
        except _RetryableError as err:
            last = err
            _log.debug("attempt %d for %s failed: %s", number + 1, url, err.cause)
    cause = last.cause if last else "no attempt made"
    status = last.status if last else None
    raise FetchError(url, f"{cause} (after {retries + 1} attempts)", status=status)


# -- pages ---------------------------------------------------------------------------------------


class PageRecord(BaseModel):
    """The JSON sidecar kept beside every raw page."""

    model_config = ConfigDict(extra="forbid")

    url: str
    final_url: str
    status: int | None  # None for file:// pages
    content_type: str | None
    charset: str | None  # as declared by the server or the document; None: none declared
    sha256: str
    size_bytes: int
    fetched_at: str
    raw_file: str


@dataclass(frozen=True)
class FetchedPage:
    url: str
    text: str
    raw_path: Path
    sha256: str
    fetched_at: str
    from_cache: bool


def _declared_charset(body: bytes, header_charset: str | None) -> str | None:
    if header_charset:
        return header_charset
    if body.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    head = body[:_SNIFF_BYTES]
    for pattern in (_XML_ENCODING, _META_CHARSET):
        if match := pattern.search(head):
            return match.group(1).decode("ascii")
    return None


def decode_body(body: bytes, charset: str | None) -> str:
    """Decode with the declared charset; unknown or wrong declarations fall back to UTF-8."""
    if charset:
        with contextlib.suppress(LookupError, UnicodeDecodeError):
            return body.decode(charset)
    return body.decode("utf-8", errors="replace")


@dataclass(frozen=True)
class _Response:
    body: bytes
    final_url: str
    status: int | None
    content_type: str | None
    header_charset: str | None


class PageFetcher:
    """Fetch pages once; later calls are served from the raw cache in `raw_dir` unless `refresh`."""

    def __init__(
        self,
        raw_dir: Path,
        *,
        timeout_s: float = 20,
        retries: int = 2,
        max_bytes: int = 20_000_000,
        user_agent: str = DEFAULT_USER_AGENT,
        refresh: bool = False,
        scope: CrawlScope | None = None,
        logger: logging.Logger | None = None,
    ):
        self.raw_dir = raw_dir
        self.scope = scope
        self.timeout_s = timeout_s
        self.retries = retries
        self.max_bytes = max_bytes
        self.user_agent = user_agent
        self.refresh = refresh
        self.logger = logger or _log

    def cache_paths(self, url: str) -> tuple[Path, Path]:
        """(raw bytes, JSON sidecar) for `url`: a readable slug plus a hash of the full URL."""
        digest = hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]
        stem = f"{url_slug(url)}-{digest}"
        return self.raw_dir / f"{stem}.raw", self.raw_dir / f"{stem}.json"

    def fetch(self, url: str) -> FetchedPage:
        """The page at `url`; `OutOfScopeError` (nothing read) when it lies outside `scope`."""
        require_scheme(url, FETCH_SCHEMES)
        if self.scope is not None:
            self.scope.require(url)
        raw_path, record_path = self.cache_paths(url)
        if not self.refresh and (cached := self._from_cache(url, raw_path, record_path)):
            return cached
        response = _retrying(lambda: self._fetch_once(url), url, self.retries)
        digest = hashlib.sha256(response.body).hexdigest()
        charset = _declared_charset(response.body, response.header_charset)
        record = PageRecord(
            url=url,
            final_url=response.final_url,
            status=response.status,
            content_type=response.content_type,
            charset=charset,
            sha256=digest,
            size_bytes=len(response.body),
            fetched_at=_now(),
            raw_file=raw_path.name,
        )
        # Raw first, sidecar second: a crash in between leaves a sidecar whose hash no longer
        # matches, which the next call treats as a miss.
        atomic_write_bytes(raw_path, response.body)
        atomic_write_text(record_path, record.model_dump_json(indent=2) + "\n")
        self.logger.info("fetched %s (%d bytes) into %s", url, len(response.body), raw_path.name)
        return FetchedPage(
            url=url,
            text=decode_body(response.body, charset),
            raw_path=raw_path,
            sha256=digest,
            fetched_at=record.fetched_at,
            from_cache=False,
        )

    def _from_cache(self, url: str, raw_path: Path, record_path: Path) -> FetchedPage | None:
        if not (raw_path.is_file() and record_path.is_file()):
            return None
        try:
            record = PageRecord.model_validate_json(record_path.read_text(encoding="utf-8"))
        except (ValidationError, ValueError) as err:
            self.logger.warning("ignoring unreadable sidecar %s: %s", record_path, err)
            return None
        body = raw_path.read_bytes()
        digest = hashlib.sha256(body).hexdigest()
        if record.url != url or digest != record.sha256:
            self.logger.warning("raw cache %s does not match its sidecar; fetching again", raw_path)
            return None
        return FetchedPage(
            url=url,
            text=decode_body(body, record.charset),
            raw_path=raw_path,
            sha256=digest,
            fetched_at=record.fetched_at,
            from_cache=True,
        )

    def _too_big(self, url: str, size: int) -> FetchError:
        return FetchError(url, f"larger than the {self.max_bytes}-byte limit ({size} bytes)")

    def _fetch_once(self, url: str) -> _Response:
        if require_scheme(url, FETCH_SCHEMES) == "file":
            path = file_url_path(url)
            try:
                size = path.stat().st_size
                if size > self.max_bytes:
                    raise self._too_big(url, size)
                body = path.read_bytes()
            except OSError as err:
                raise FetchError(url, f"{type(err).__name__}: {err.strerror or err}") from err
            return _Response(body, url, None, mimetypes.guess_type(path.name)[0], None)
        headers = {"User-Agent": self.user_agent, "Accept-Encoding": "identity"}
        with _open(url, headers, self.timeout_s, self.scope) as response:
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > self.max_bytes:
                raise self._too_big(url, int(declared))
            try:
                body = response.read(self.max_bytes + 1)
            except (TimeoutError, ConnectionError, HTTPException) as err:
                raise _RetryableError(f"{type(err).__name__} while reading: {err}") from err
            if len(body) > self.max_bytes:
                raise self._too_big(url, len(body))
            message: Message = response.headers
            return _Response(
                body,
                response.geturl(),
                response.status,
                message.get_content_type() if message.get("Content-Type") else None,
                message.get_content_charset(),
            )


# -- files ---------------------------------------------------------------------------------------


class PartialDownload(BaseModel):
    """Sidecar of a `.part` file: which URL and which version of it the bytes came from."""

    model_config = ConfigDict(extra="forbid")

    url: str
    validator: str | None  # ETag or Last-Modified (http), size-mtime (file); None: unknown
    total_bytes: int | None


def _part_paths(dest: Path) -> tuple[Path, Path]:
    return dest.with_name(dest.name + ".part"), dest.with_name(dest.name + ".part.json")


def _load_partial(state_path: Path) -> PartialDownload | None:
    try:
        return PartialDownload.model_validate_json(state_path.read_text(encoding="utf-8"))
    except (OSError, ValueError, ValidationError):
        return None


def _fsync_and_replace(source: Path, target: Path) -> None:
    with open(source, "rb+") as handle:
        os.fsync(handle.fileno())
    os.replace(source, target)
    with contextlib.suppress(OSError):
        fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def download_file(
    url: str,
    dest: Path,
    *,
    expected_sha256: str | None = None,
    resume: bool = True,
    timeout_s: float = 60,
    progress: Callable[[int, int | None], None] | None = None,
    chunk_bytes: int = 1 << 20,
    retries: int = 2,
    user_agent: str = DEFAULT_USER_AGENT,
) -> Path:
    """Download `url` to `dest`, resuming a `.part` file left by an interrupted attempt.

    Only finished downloads are renamed onto `dest`, so an existing `dest` counts as done (when
    `expected_sha256` is given, it must also match). A sha256 mismatch raises
    `ChecksumMismatchError` and leaves nothing at `dest` and no `.part` to resume from.
    `progress(done_bytes, total_bytes)` is called after every chunk.
    """
    scheme = require_scheme(url, FETCH_SCHEMES)
    expected = expected_sha256.lower() if expected_sha256 else None
    if expected is not None and not _SHA256_HEX.match(expected):
        raise ValueError(f"expected_sha256 for {url} is not 64 hex digits: {expected_sha256!r}")
    if dest.is_file() and (expected is None or sha256_file(dest) == expected):
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part, state_path = _part_paths(dest)
    if not resume:
        part.unlink(missing_ok=True)
        state_path.unlink(missing_ok=True)
    transfer = _FileTransfer if scheme == "file" else _HttpTransfer
    job = transfer(url, part, state_path, timeout_s, progress, chunk_bytes, user_agent)
    _retrying(job.run, url, retries)
    if expected is not None:
        actual = sha256_file(part)
        if actual != expected:
            # Not kept for resuming either: appending to wrong bytes cannot give right ones.
            part.unlink(missing_ok=True)
            state_path.unlink(missing_ok=True)
            raise ChecksumMismatchError(url, expected=expected, actual=actual)
    _fsync_and_replace(part, dest)
    state_path.unlink(missing_ok=True)
    return dest


@dataclass
class _Transfer:
    url: str
    part: Path
    state_path: Path
    timeout_s: float
    progress: Callable[[int, int | None], None] | None
    chunk_bytes: int
    user_agent: str

    def _resume_offset(self, validator: str | None) -> int:
        """Bytes already in `.part` that belong to this URL and version; else start afresh."""
        state = _load_partial(self.state_path)
        if not self.part.is_file() or state is None or state.url != self.url:
            return 0
        if validator is not None and state.validator != validator:
            return 0
        return self.part.stat().st_size

    def _save_state(self, validator: str | None, total: int | None) -> None:
        record = PartialDownload(url=self.url, validator=validator, total_bytes=total)
        atomic_write_text(self.state_path, record.model_dump_json() + "\n")

    def _copy(self, source: IO[bytes], offset: int, total: int | None) -> None:
        done = offset
        mode = "ab" if offset else "wb"
        with open(self.part, mode) as sink:
            if offset:
                sink.truncate(offset)
            for chunk in iter(lambda: source.read(self.chunk_bytes), b""):
                sink.write(chunk)
                done += len(chunk)
                if self.progress is not None:
                    self.progress(done, total)
        if total is not None and done != total:
            raise _RetryableError(f"transfer ended after {done} of {total} bytes")


class _FileTransfer(_Transfer):
    def run(self) -> None:
        source_path = file_url_path(self.url)
        try:
            stat = source_path.stat()
        except OSError as err:
            raise FetchError(self.url, f"{type(err).__name__}: {err.strerror or err}") from err
        validator = f"{stat.st_size}-{stat.st_mtime_ns}"
        offset = self._resume_offset(validator)
        if offset > stat.st_size:
            offset = 0
        self._save_state(validator, stat.st_size)
        with open(source_path, "rb") as source:
            source.seek(offset)
            self._copy(source, offset, stat.st_size)


def _validator(headers: Message) -> str | None:
    etag = headers.get("ETag")
    if etag and not etag.startswith("W/"):  # weak ETags are not allowed in If-Range
        return etag
    return headers.get("Last-Modified")


class _HttpTransfer(_Transfer):
    def run(self) -> None:
        state = _load_partial(self.state_path)
        offset = self._resume_offset(None)
        headers = {"User-Agent": self.user_agent, "Accept-Encoding": "identity"}
        if offset:
            headers["Range"] = f"bytes={offset}-"
            if state is not None and state.validator:
                # The server answers 200 with the whole file if it changed since the .part began.
                headers["If-Range"] = state.validator
        try:
            response = _open(self.url, headers, self.timeout_s)
        except FetchError as err:
            if err.status == 416 and offset:
                self._handle_unsatisfiable(err, offset, state)
                return
            raise
        with response:
            start, total = self._plan(response, offset)
            self._save_state(_validator(response.headers), total)
            try:
                self._copy(response, start, total)
            except (TimeoutError, ConnectionError, HTTPException) as err:
                raise _RetryableError(f"{type(err).__name__} while reading: {err}") from err

    def _plan(self, response: HTTPResponse, offset: int) -> tuple[int, int | None]:
        """(offset to write at, total size) from the response to a (range) request."""
        length = response.headers.get("Content-Length")
        if response.status == 206:
            content_range = _CONTENT_RANGE.match(response.headers.get("Content-Range") or "")
            if content_range is None or int(content_range.group(1)) != offset:
                # Not the range asked for: start over rather than splice wrong bytes.
                self.part.unlink(missing_ok=True)
                raise _RetryableError(
                    f"unexpected Content-Range {response.headers.get('Content-Range')}"
                )
            size = content_range.group(3)
            return offset, int(size) if size.isdigit() else None
        # 200: the server ignored the range or the file changed: the whole body follows.
        return 0, int(length) if length and length.isdigit() else None

    def _handle_unsatisfiable(
        self, err: FetchError, offset: int, state: PartialDownload | None
    ) -> None:
        # 416 after a resume: the .part may already be whole, or longer than the file now is.
        if state is not None and state.total_bytes == offset:
            return
        self.part.unlink(missing_ok=True)
        self.state_path.unlink(missing_ok=True)
        raise _RetryableError(
            f"range {offset}- not satisfiable; starting over", err.status
        ) from err
