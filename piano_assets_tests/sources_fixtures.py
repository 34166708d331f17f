"""Loopback HTTP server and generated media for the sources tests (no internet anywhere)."""

from __future__ import annotations

import hashlib
import http.server
import re
import subprocess
import threading
from dataclasses import dataclass, field
from email.utils import formatdate
from pathlib import Path
from types import TracebackType
from urllib.parse import quote, unquote, urlsplit
from xml.sax.saxutils import escape

from piano_assets.engine.ffmpeg import ffmpeg_exe
from piano_assets.sample.synth import write_piano_wav

_RANGE = re.compile(r"bytes=(\d+)-(\d*)$")


@dataclass(frozen=True)
class SeenRequest:
    method: str
    path: str  # decoded
    range: str | None
    if_range: str | None


@dataclass
class ServerBehaviour:
    """What the server does beyond serving files; keyed by decoded path (e.g. "/a.bin")."""

    content_types: dict[str, str] = field(default_factory=dict)
    # Serve only this many bytes of the next full GET (Content-Length still announces them all).
    truncate_next: dict[str, int] = field(default_factory=dict)
    # Answer the next requests with these statuses, in order, before serving normally.
    statuses: dict[str, list[int]] = field(default_factory=dict)
    ignore_range: set[str] = field(default_factory=set)
    # Answer with a 302 to this location.
    redirects: dict[str, str] = field(default_factory=dict)


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        return

    def do_HEAD(self) -> None:
        self._serve(send_body=False)

    def do_GET(self) -> None:
        self._serve(send_body=True)

    def _serve(self, *, send_body: bool) -> None:
        path = unquote(urlsplit(self.path).path)
        loopback = self.server.loopback
        with loopback.lock:
            loopback.requests.append(
                SeenRequest(
                    self.command, path, self.headers.get("Range"), self.headers.get("If-Range")
                )
            )
            queued = loopback.behaviour.statuses.get(path)
            status = queued.pop(0) if queued else None
        if status is not None:
            self.send_error(status)
            return
        if location := loopback.behaviour.redirects.get(path):
            self.send_response(302)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        file_path = (loopback.root / path.lstrip("/")).resolve()
        if loopback.root not in file_path.parents or not file_path.is_file():
            self.send_error(404)
            return
        body = file_path.read_bytes()
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        content_type = loopback.behaviour.content_types.get(path, "application/octet-stream")
        requested = self.headers.get("Range")
        if_range = self.headers.get("If-Range")
        honour_range = (
            requested is not None
            and path not in loopback.behaviour.ignore_range
            and (if_range is None or if_range == etag)
        )
        match = _RANGE.match(requested or "") if honour_range else None
        if match:
            start = int(match.group(1))
            end = int(match.group(2)) if match.group(2) else len(body) - 1
            if start >= len(body):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(body)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            chunk = body[start : end + 1]
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{start + len(chunk) - 1}/{len(body)}")
        else:
            chunk = body
            self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(chunk)))
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", formatdate(file_path.stat().st_mtime, usegmt=True))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        if not send_body:
            return
        with loopback.lock:
            cut = None if match else loopback.behaviour.truncate_next.pop(path, None)
        self.wfile.write(chunk if cut is None else chunk[:cut])
        self.close_connection = True


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    loopback: LoopbackServer


class LoopbackServer:
    """Serves `root` on 127.0.0.1 with Range/If-Range support and injectable faults."""

    def __init__(self, root: Path):
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.behaviour = ServerBehaviour()
        self.requests: list[SeenRequest] = []
        self.lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.loopback = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> LoopbackServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def url(self, relative: str) -> str:
        return f"http://127.0.0.1:{self.port}/{quote(relative)}"

    def gets(self, relative: str) -> list[SeenRequest]:
        wanted = "/" + relative
        return [r for r in self.requests if r.method == "GET" and r.path == wanted]


def rss_feed(title: str, items: list[tuple[str, str, str, int | None]]) -> str:
    """An RSS 2.0 feed; items are (guid, title, link, unix time of publication or None)."""
    rows = []
    for guid, item_title, link, published in items:
        date = f"<pubDate>{formatdate(published, usegmt=True)}</pubDate>" if published else ""
        rows.append(
            f"<item><title>{escape(item_title)}</title><link>{escape(link)}</link>"
            f'<guid isPermaLink="false">{escape(guid)}</guid>{date}</item>'
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
        f"<title>{escape(title)}</title><link>http://127.0.0.1/</link>"
        f"<description>test feed</description>{''.join(rows)}</channel></rss>\n"
    )


def make_wav(
    path: Path, seconds: float = 2.0, sample_rate: int = 44_100, channels: int = 2
) -> Path:
    return write_piano_wav(path, seconds, sample_rate, seed=7, channels=channels)


def make_flac(path: Path, seconds: float = 2.0) -> Path:
    """A 48 kHz stereo FLAC, encoded by ffmpeg from synthesized audio."""
    source = make_wav(path.with_name(path.stem + "-source.wav"), seconds, 48_000, 2)
    subprocess.run(
        [ffmpeg_exe(), "-nostdin", "-loglevel", "error", "-y", "-i", str(source), str(path)],
        check=True,
    )
    source.unlink()
    return path
