"""What a downloaded file holds, from its first bytes, in words a person understands.

yt-dlp and ffprobe report a web page or random bytes as "Unsupported URL" or "unable to obtain
file audio codec with ffprobe". `sniff` looks at the bytes instead: an HTML page (and its
title), XML, JSON, text, an empty file, a known audio or video container, or bytes in no audio
or video format. Dagster-free, standard library only.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass

SNIFF_BYTES = 64 * 1024
_TITLE = re.compile(rb"<title[^>]*>(.*?)</title", re.IGNORECASE | re.DOTALL)
_HTML_MARKERS = (b"<!doctype html", b"<html", b"<head", b"<body", b"<meta ", b"<script")
_XML_MARKERS = (b"<?xml", b"<rss", b"<feed", b"<svg")
_MAX_TITLE = 80


@dataclass(frozen=True)
class Sniffed:
    """`media`: the container ('WAV', 'MP3', ...) when the bytes look like audio or video;
    `what`: a phrase for a sentence ('an HTML page titled "Sign in"', 'JSON', ...)."""

    media: str | None
    what: str


# (offset, magic bytes, second offset, second magic or None, container)
_SIGNATURES: tuple[tuple[int, bytes, int, tuple[bytes, ...] | None, str], ...] = (
    (0, b"RIFF", 8, (b"WAVE",), "WAV"),
    (0, b"FORM", 8, (b"AIFF", b"AIFC"), "AIFF"),
    (0, b"fLaC", 0, None, "FLAC"),
    (0, b"OggS", 0, None, "Ogg"),
    (0, b"\x1a\x45\xdf\xa3", 0, None, "WebM/Matroska"),
    (4, b"ftyp", 0, None, "MP4/M4A"),
    (0, b"ID3", 0, None, "MP3"),
)


def _media_kind(head: bytes) -> str | None:
    for offset, magic, second_offset, second, kind in _SIGNATURES:
        if head[offset : offset + len(magic)] != magic:
            continue
        if second is None or head[second_offset : second_offset + 4] in second:
            return kind
    if len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:  # an MPEG frame header
        return "MP3/AAC"
    return None


def _title(head: bytes) -> str | None:
    match = _TITLE.search(head)
    if match is None:
        return None
    text = html.unescape(match.group(1).decode("utf-8", "replace"))
    text = " ".join("".join(c for c in text if c.isprintable()).split())
    if not text:
        return None
    return text if len(text) <= _MAX_TITLE else text[: _MAX_TITLE - 1] + "…"


def _is_json(text: str) -> bool:
    if not text.startswith(("{", "[")):
        return False
    try:
        json.loads(text)
    except ValueError:
        # A prefix of a long document: JSON-shaped when it starts like an object or array.
        return bool(re.match(r'^[\[{]\s*(["\[{]|\d|true|false|null|\]|\})', text))
    return True


def _mostly_text(head: bytes) -> bool:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as err:
        if err.start < len(head) - 4:  # not just a character cut at the end of the sample
            return False
        text = head[: err.start].decode("utf-8")
    printable = sum(1 for c in text if c.isprintable() or c in "\t\r\n")
    return printable >= 0.95 * max(1, len(text))


def sniff(head: bytes) -> Sniffed:
    """Describe the first bytes of a file (up to `SNIFF_BYTES`)."""
    if not head:
        return Sniffed(None, "an empty file")
    if kind := _media_kind(head):
        return Sniffed(kind, f"{kind} audio")
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    lowered = stripped[:2048].lower()
    if any(marker in lowered for marker in _HTML_MARKERS):
        title = _title(stripped)
        return Sniffed(None, "an HTML page" + (f" titled {title!r}" if title else ""))
    if lowered.startswith(_XML_MARKERS):
        return Sniffed(None, "an XML document")
    if _mostly_text(stripped):
        text = stripped.decode("utf-8", "replace")
        return Sniffed(None, "JSON" if _is_json(text) else "text")
    return Sniffed(None, "bytes in no audio or video format")
