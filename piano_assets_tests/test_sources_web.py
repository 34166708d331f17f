"""PageFetcher and download_file against a loopback server and file:// URLs (no internet)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from piano_assets.engine.files import sha256_file
from piano_assets.sources import (
    ChecksumMismatchError,
    FetchError,
    PageFetcher,
    UnsupportedUrlError,
    download_file,
)
from piano_assets.sources.web import PageRecord
from piano_assets_tests.sources_fixtures import LoopbackServer

POLISH_PAGE = "<html><body><h1>Wyniki - Łódź, Kraków, Gdańsk: Zażółć gęślą jaźń</h1></body></html>"


@pytest.fixture
def server(loopback: LoopbackServer) -> LoopbackServer:
    return loopback


def _payload(size: int) -> bytes:
    return bytes((i * 7 + i // 251) % 256 for i in range(size))


# -- pages ----------------------------------------------------------------------------------------


def test_fetch_decodes_the_declared_charset_and_keeps_raw_bytes_with_a_sidecar(
    server: LoopbackServer, tmp_path: Path
) -> None:
    raw = POLISH_PAGE.encode("iso-8859-2")
    (server.root / "wyniki.html").write_bytes(raw)
    server.behaviour.content_types["/wyniki.html"] = "text/html; charset=ISO-8859-2"
    fetcher = PageFetcher(tmp_path / "raw")
    url = server.url("wyniki.html")

    page = fetcher.fetch(url)

    assert page.text == POLISH_PAGE
    assert not page.from_cache
    assert page.raw_path.read_bytes() == raw  # the bytes as served, not re-encoded
    assert page.sha256 == hashlib.sha256(raw).hexdigest()
    assert page.raw_path.parent == tmp_path / "raw"
    assert page.raw_path.name.startswith("127-0-0-1-")
    assert "wyniki-html" in page.raw_path.name
    record = PageRecord.model_validate_json(page.raw_path.with_suffix(".json").read_text())
    assert (record.url, record.status, record.sha256) == (url, 200, page.sha256)
    assert record.charset == "iso-8859-2"
    assert record.size_bytes == len(raw)
    assert record.fetched_at == page.fetched_at

    again = fetcher.fetch(url)
    assert again.from_cache
    assert again.text == POLISH_PAGE
    assert again.fetched_at == page.fetched_at
    assert len(server.gets("wyniki.html")) == 1


def test_refresh_fetches_again_and_replaces_the_cache(
    server: LoopbackServer, tmp_path: Path
) -> None:
    page_file = server.root / "results.html"
    page_file.write_text("<p>first</p>", "utf-8")
    url = server.url("results.html")
    PageFetcher(tmp_path / "raw").fetch(url)
    page_file.write_text("<p>second</p>", "utf-8")

    cached = PageFetcher(tmp_path / "raw").fetch(url)
    refreshed = PageFetcher(tmp_path / "raw", refresh=True).fetch(url)

    assert (cached.text, cached.from_cache) == ("<p>first</p>", True)
    assert (refreshed.text, refreshed.from_cache) == ("<p>second</p>", False)
    assert len(server.gets("results.html")) == 2
    assert PageFetcher(tmp_path / "raw").fetch(url).text == "<p>second</p>"


def test_a_raw_file_that_no_longer_matches_its_sidecar_is_fetched_again(
    server: LoopbackServer, tmp_path: Path
) -> None:
    (server.root / "p.html").write_text("<p>true</p>", "utf-8")
    fetcher = PageFetcher(tmp_path / "raw")
    page = fetcher.fetch(server.url("p.html"))
    page.raw_path.write_bytes(b"<p>tampered</p>")

    again = fetcher.fetch(server.url("p.html"))

    assert (again.text, again.from_cache) == ("<p>true</p>", False)


def test_fetch_a_file_url_with_a_meta_charset_and_unicode_name(tmp_path: Path) -> None:
    page_file = tmp_path / "site" / "wyniki – etap I.html"
    page_file.parent.mkdir()
    page_file.write_bytes(
        b'<html><head><meta charset="windows-1250"></head>' + POLISH_PAGE.encode("cp1250")
    )

    page = PageFetcher(tmp_path / "raw").fetch(page_file.as_uri())

    assert "Zażółć gęślą jaźń" in page.text
    record = json.loads(page.raw_path.with_suffix(".json").read_text())
    assert record["status"] is None
    assert record["charset"] == "windows-1250"
    assert page.raw_path.name.isascii()


def test_an_unknown_charset_falls_back_to_utf8(server: LoopbackServer, tmp_path: Path) -> None:
    (server.root / "u.html").write_text("<p>Étude</p>", "utf-8")
    server.behaviour.content_types["/u.html"] = "text/html; charset=no-such-charset"
    assert PageFetcher(tmp_path / "raw").fetch(server.url("u.html")).text == "<p>Étude</p>"


def test_an_oversize_page_is_rejected_and_not_cached(
    server: LoopbackServer, tmp_path: Path
) -> None:
    (server.root / "big.html").write_bytes(b"x" * 5000)
    (tmp_path / "big.html").write_bytes(b"x" * 5000)
    fetcher = PageFetcher(tmp_path / "raw", max_bytes=4096)

    with pytest.raises(FetchError, match="4096-byte limit"):
        fetcher.fetch(server.url("big.html"))
    with pytest.raises(FetchError, match="4096-byte limit"):
        fetcher.fetch((tmp_path / "big.html").as_uri())
    assert not (tmp_path / "raw").exists() or not any((tmp_path / "raw").iterdir())


def test_a_404_fails_at_once_naming_url_and_status(server: LoopbackServer, tmp_path: Path) -> None:
    url = server.url("missing.html")
    with pytest.raises(FetchError) as caught:
        PageFetcher(tmp_path / "raw", retries=3).fetch(url)
    assert caught.value.status == 404
    assert url in str(caught.value)
    assert "404" in str(caught.value)
    assert len(server.gets("missing.html")) == 1  # a 404 is final: no retries


def test_a_503_is_retried(server: LoopbackServer, tmp_path: Path) -> None:
    (server.root / "busy.html").write_text("<p>ok</p>", "utf-8")
    server.behaviour.statuses["/busy.html"] = [503]

    page = PageFetcher(tmp_path / "raw", retries=1).fetch(server.url("busy.html"))

    assert page.text == "<p>ok</p>"
    assert len(server.gets("busy.html")) == 2


def test_redirects_are_followed_only_to_web_urls(server: LoopbackServer, tmp_path: Path) -> None:
    (server.root / "new.html").write_text("<p>moved</p>", "utf-8")
    server.behaviour.redirects["/old.html"] = server.url("new.html")
    server.behaviour.redirects["/sneaky.html"] = (tmp_path / "secret.txt").as_uri()
    (tmp_path / "secret.txt").write_text("do not read", "utf-8")
    fetcher = PageFetcher(tmp_path / "raw")

    page = fetcher.fetch(server.url("old.html"))
    record = PageRecord.model_validate_json(page.raw_path.with_suffix(".json").read_text())

    assert page.text == "<p>moved</p>"
    assert (record.url, record.final_url) == (server.url("old.html"), server.url("new.html"))
    with pytest.raises(FetchError, match="not allowed"):  # urllib itself refuses file://
        fetcher.fetch(server.url("sneaky.html"))
    server.behaviour.redirects["/ftp.html"] = "ftp://127.0.0.1/x.html"
    with pytest.raises(FetchError, match="non-web URL"):  # urllib would follow ftp://
        fetcher.fetch(server.url("ftp.html"))


def test_other_schemes_are_refused(tmp_path: Path) -> None:
    fetcher = PageFetcher(tmp_path / "raw")
    for url in ("ftp://127.0.0.1/x.html", "data:text/html,hi", "/etc/passwd"):
        with pytest.raises(UnsupportedUrlError):
            fetcher.fetch(url)
    with pytest.raises(UnsupportedUrlError):
        download_file("ftp://127.0.0.1/x.zip", tmp_path / "x.zip")


# -- file downloads -------------------------------------------------------------------------------


def test_an_interrupted_download_resumes_with_a_range_request(
    server: LoopbackServer, tmp_path: Path
) -> None:
    payload = _payload(300_000)
    (server.root / "maestro-v3.0.0.zip").write_bytes(payload)
    server.behaviour.truncate_next["/maestro-v3.0.0.zip"] = 120_000
    dest = tmp_path / "dl" / "maestro-v3.0.0.zip"
    url = server.url("maestro-v3.0.0.zip")
    expected = hashlib.sha256(payload).hexdigest()

    with pytest.raises(FetchError, match="120000 of 300000"):
        download_file(url, dest, expected_sha256=expected, retries=0, chunk_bytes=16_384)
    part = dest.with_name(dest.name + ".part")
    assert part.stat().st_size == 120_000
    assert not dest.exists()

    seen: list[tuple[int, int | None]] = []
    result = download_file(
        url, dest, expected_sha256=expected, progress=lambda d, t: seen.append((d, t))
    )

    assert result == dest
    assert sha256_file(dest) == expected
    assert server.gets("maestro-v3.0.0.zip")[-1].range == "bytes=120000-"
    assert server.gets("maestro-v3.0.0.zip")[-1].if_range  # guards against a changed file
    assert seen[0][0] > 120_000  # counting started from the resumed offset
    assert seen[-1] == (300_000, 300_000)
    assert not part.exists()


def test_a_download_interrupted_in_one_call_is_resumed_by_its_retry(
    server: LoopbackServer, tmp_path: Path
) -> None:
    payload = _payload(50_000)
    (server.root / "a.bin").write_bytes(payload)
    server.behaviour.truncate_next["/a.bin"] = 10_000

    dest = download_file(server.url("a.bin"), tmp_path / "a.bin", retries=1)

    assert dest.read_bytes() == payload
    assert [r.range for r in server.gets("a.bin")] == [None, "bytes=10000-"]


def test_a_server_ignoring_ranges_restarts_from_zero(
    server: LoopbackServer, tmp_path: Path
) -> None:
    payload = _payload(40_000)
    (server.root / "b.bin").write_bytes(payload)
    server.behaviour.truncate_next["/b.bin"] = 15_000
    server.behaviour.ignore_range.add("/b.bin")
    dest = tmp_path / "b.bin"

    with pytest.raises(FetchError):
        download_file(server.url("b.bin"), dest, retries=0)
    download_file(server.url("b.bin"), dest, retries=0)

    assert dest.read_bytes() == payload


def test_a_changed_file_is_not_spliced_onto_an_old_part(
    server: LoopbackServer, tmp_path: Path
) -> None:
    (server.root / "c.bin").write_bytes(_payload(30_000))
    server.behaviour.truncate_next["/c.bin"] = 10_000
    dest = tmp_path / "c.bin"
    with pytest.raises(FetchError):
        download_file(server.url("c.bin"), dest, retries=0)
    new_payload = b"new version " * 3000
    (server.root / "c.bin").write_bytes(new_payload)

    download_file(server.url("c.bin"), dest, retries=0)

    assert dest.read_bytes() == new_payload  # If-Range made the server send the whole new file


def test_a_sha256_mismatch_leaves_nothing_behind(server: LoopbackServer, tmp_path: Path) -> None:
    (server.root / "d.bin").write_bytes(_payload(20_000))
    dest = tmp_path / "d.bin"

    with pytest.raises(ChecksumMismatchError) as caught:
        download_file(server.url("d.bin"), dest, expected_sha256="0" * 64)

    assert caught.value.actual == hashlib.sha256(_payload(20_000)).hexdigest()
    assert server.url("d.bin") in str(caught.value)
    assert list(tmp_path.glob("d.bin*")) == []


def test_an_existing_verified_dest_is_not_downloaded_again(
    server: LoopbackServer, tmp_path: Path
) -> None:
    payload = _payload(10_000)
    (server.root / "e.bin").write_bytes(payload)
    dest = tmp_path / "e.bin"
    digest = hashlib.sha256(payload).hexdigest()
    download_file(server.url("e.bin"), dest, expected_sha256=digest)

    download_file(server.url("e.bin"), dest, expected_sha256=digest.upper())

    assert len(server.gets("e.bin")) == 1


def test_a_file_url_download_with_unicode_names_resumes_too(tmp_path: Path) -> None:
    payload = _payload(70_000)
    source = tmp_path / "źródło" / "nagranie – 1.flac"
    source.parent.mkdir()
    source.write_bytes(payload)
    dest = tmp_path / "cel" / "nagranie – 1.flac"
    dest.parent.mkdir()
    part = dest.with_name(dest.name + ".part")
    state = dest.with_name(dest.name + ".part.json")
    stat = source.stat()
    # What an attempt interrupted after 30 000 bytes leaves behind.
    part.write_bytes(payload[:30_000])
    state.write_text(
        json.dumps(
            {
                "url": source.as_uri(),
                "validator": f"{stat.st_size}-{stat.st_mtime_ns}",
                "total_bytes": stat.st_size,
            }
        )
    )
    seen: list[tuple[int, int | None]] = []

    download_file(
        source.as_uri(), dest, chunk_bytes=20_000, progress=lambda d, t: seen.append((d, t))
    )

    assert dest.read_bytes() == payload
    assert seen == [(50_000, 70_000), (70_000, 70_000)]  # only the missing bytes were read
    assert not part.exists()
    assert not state.exists()


def test_a_part_file_of_unknown_origin_is_not_resumed(tmp_path: Path) -> None:
    payload = _payload(20_000)
    source = tmp_path / "src.bin"
    source.write_bytes(payload)
    dest = tmp_path / "dest.bin"
    dest.with_name("dest.bin.part").write_bytes(b"garbage from elsewhere")

    download_file(source.as_uri(), dest)

    assert dest.read_bytes() == payload
