"""URL checks shared by the clients: allowed schemes, file:// URL paths, readable slugs."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

from piano_assets.sources.errors import UnsupportedUrlError

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
