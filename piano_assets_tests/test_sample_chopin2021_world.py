"""The sample's outside world for the Chopin 2021 tier: deterministic, listable, servable."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from piano_assets.chopin2021.catalog import build_catalog
from piano_assets.chopin2021.derive import derive_stage_i_pianists
from piano_assets.chopin2021.matching import MatchStatus
from piano_assets.chopin2021.results import Round, collect_site_results, load_curated
from piano_assets.sample.chopin2021_world import build_chopin2021_world
from piano_assets.sources.web import PageFetcher
from piano_assets.sources.ytdlp import YtDlpClient


def _tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != "chopin2021_world.json"
    }


def test_world_is_deterministic(tmp_path: Path) -> None:
    first = build_chopin2021_world(tmp_path / "a")
    second = build_chopin2021_world(tmp_path / "b")
    a, b = _tree(first.world_dir), _tree(second.world_dir)
    assert a.keys() == b.keys()
    differing = [name for name in a if a[name] != b[name]]
    # Only the feed names its own absolute file:// media URLs.
    assert differing == ["channel/videos.rss"]
    assert a["channel/videos.rss"].replace(b"/a/", b"/b/") == b["channel/videos.rss"]
    # The default world is clean: every listed recording has its media file.
    assert first.missing_video_id is None
    for video_id in first.expected_recordings:
        assert (first.world_dir / "media" / f"{video_id}.wav").is_file()


def test_feed_lists_every_case_the_matcher_must_handle(tmp_path: Path) -> None:
    world = build_chopin2021_world(tmp_path / "w", include_missing_video=True)
    listing = YtDlpClient(allow_file_urls=True).list_flat(world.chopin2021_channel_url)
    curated = load_curated()
    derivation = derive_stage_i_pianists(
        listing,
        curated.results(),
        stage_ii_expected=curated.stage_counts[Round.STAGE_II]["count"],
        stage_i_expected=curated.stage_counts[Round.STAGE_I]["count"],
    )
    build = build_catalog(listing, derivation.results_with(curated.results()))
    assert {s.video_id: s.recording_id for s in build.recordings} == world.expected_recordings
    assert world.missing_video_id in world.expected_recordings
    assert not (world.world_dir / "media" / f"{world.missing_video_id}.wav").exists()
    assert sorted(item.status for item in build.ledger) == sorted(
        [MatchStatus.SESSION, MatchStatus.UNMATCHED, MatchStatus.UNMATCHED]
    )
    titles = " ".join(s.title for s in build.recordings)
    assert "(XIAOYU)" in titles and "GARCÍA" in titles and "KUSZLIK Jakub" in titles


@pytest.fixture
def served_world(tmp_path: Path) -> Iterator[str]:
    world = build_chopin2021_world(tmp_path / "w")
    handler = functools.partial(
        http.server.SimpleHTTPRequestHandler, directory=str(world.world_dir / "chopin2020")
    )
    handler.log_message = lambda *args: None  # type: ignore[method-assign]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def test_results_pages_are_servable_on_loopback(served_world: str, tmp_path: Path) -> None:
    site = collect_site_results(served_world, PageFetcher(tmp_path / "raw").fetch)
    assert site.results.prize_list() == load_curated().results().prize_list()
    assert all(page.startswith(served_world) for page in site.pages)
