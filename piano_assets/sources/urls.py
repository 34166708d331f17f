"""URL checks shared by the clients: allowed schemes, crawl scopes, file:// paths, slugs."""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

from piano_assets.sources.errors import OutOfScopeError, UnsupportedUrlError

WEB_SCHEMES = frozenset({"http", "https"})
_SLUG_CHARS = re.compile(r"[^a-z0-9]+")


def url_scheme(url: str) -> str:
    return urlsplit(url).scheme.lower()


def require_scheme(url: str, allowed: frozenset[str] | set[str]) -> str:
    """Return the URL's scheme if it is in `allowed`, else raise `UnsupportedUrlError`."""
    scheme = url_scheme(url)
    if scheme not in allowed:
        shown = scheme or "none"
        raise UnsupportedUrlError(
            f"refusing {url!r}: scheme {shown!r} is not one of {', '.join(sorted(allowed))}"
        )
    return scheme


def file_url_path(url: str) -> Path:
    """The local path of a `file://` URL (percent-decoded); only the local host is accepted."""
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        raise UnsupportedUrlError(f"refusing {url!r}: file URLs must name a local path")
    return Path(url2pathname(parts.path))


def url_slug(url: str, max_chars: int = 60) -> str:
    """A readable, filesystem-safe ASCII slug of the URL's host and path (never empty)."""
    parts = urlsplit(url)
    readable = unquote(f"{parts.netloc}{parts.path}")
    ascii_only = unicodedata.normalize("NFKD", readable).encode("ascii", "ignore").decode()
    slug = _SLUG_CHARS.sub("-", ascii_only.lower()).strip("-")
    return slug[:max_chars].rstrip("-") or "page"


def _host_port(scheme: str, netloc_host: str | None, port: int | None) -> str:
    """'host' or 'host:port', the scheme's default port left out, lower-case."""
    host = (netloc_host or "").lower()
    default = {"http": 80, "https": 443}.get(scheme)
    return host if port is None or port == default else f"{host}:{port}"


@dataclass(frozen=True)
class CrawlScope:
    """Where one crawl may go: the scheme and host of its base URL; for `file://`, its folder.

    `refusal(url)` says why a URL is out of scope (None: in scope); `require` raises
    `OutOfScopeError` with that reason. A `file://` scope compares real paths, so neither
    `..` nor a symlink leads out of the folder.
    """

    base_url: str
    scheme: str
    host: str  # http(s): 'host' or 'host:port'; file: ''
    folder: Path | None  # file: the real path of the base folder

    @classmethod
    def of(cls, base_url: str) -> CrawlScope:
        scheme = require_scheme(base_url, WEB_SCHEMES | {"file"})
        if scheme == "file":
            path = file_url_path(base_url)
            folder = path if base_url.endswith("/") else path.parent
            return cls(base_url, scheme, "", Path(os.path.realpath(folder)))
        parts = urlsplit(base_url)
        return cls(base_url, scheme, _host_port(scheme, parts.hostname, parts.port), None)

    def refusal(self, url: str) -> str | None:
        scheme = url_scheme(url)
        if scheme != self.scheme:
            return f"scheme {scheme or 'none'!r} is outside this crawl ({self.scheme} only)"
        parts = urlsplit(url)
        if self.folder is not None:
            return self._file_refusal(parts.netloc, parts.path)
        try:
            host = _host_port(scheme, parts.hostname, parts.port)
        except ValueError:  # a port that is not a number
            return f"malformed host {parts.netloc!r}"
        if host != self.host:
            return f"host {host} is outside this crawl ({self.host} only)"
        return None

    def _file_refusal(self, netloc: str, path: str) -> str | None:
        if netloc not in ("", "localhost"):
            return "file URLs must name a local path"
        real = Path(os.path.realpath(url2pathname(path)))
        if real != self.folder and self.folder not in real.parents:
            return f"{real} is outside the crawl's folder {self.folder}"
        return None

    def require(self, url: str) -> None:
        if (reason := self.refusal(url)) is not None:
            raise OutOfScopeError(url, reason)
