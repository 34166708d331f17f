"""The results crawler stays on the scheme and host of its base URL (file://: under its folder).

Hostile pages link to local files (`file:///…`), to other hosts, or redirect there; every such
link is refused before any byte is read, and each refusal is a ledger line naming the link, the
page that carried it and why.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from piano_assets.chopin2021.results import collect_site_results, load_curated
from piano_assets.sample.chopin2021_world import build_chopin2021_world
from piano_assets.sources.errors import OutOfScopeError
from piano_assets.sources.urls import CrawlScope
from piano_assets.sources.web import PageFetcher
from piano_assets_tests.sources_fixtures import LoopbackServer

SECRET = "TOP-SECRET-local-file-contents"  # noqa: S105 - a marker, not a password


def _secret_tree(folder: Path) -> Path:
    """Files a hostile link aims at: they look like an article and a competitor page."""
    for relative in ("article/1/results", "competitor/1/thief"):
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(f"<main><h1>{SECRET}</h1><p>1st Prize – Mr X Y, Z</p></main>")
    return folder


def _add_links(site: Path, news_links: list[str], competitor_links: list[str]) -> None:
    news = site / "en" / "news"
    anchors = "".join(f'<li><a href="{u}">Stage I results</a></li>' for u in news_links)
    news.write_text(news.read_text(encoding="utf-8").replace("</ul>", anchors + "</ul>", 1))
    index = site / "en" / "competitors"
    anchors = "".join(f'<li><a href="{u}">X</a></li>' for u in competitor_links)
    index.write_text(index.read_text(encoding="utf-8").replace("</ul>", anchors + "</ul>", 1))


def _raw_texts(raw_dir: Path) -> str:
    return "".join(p.read_text(errors="replace") for p in raw_dir.glob("*.raw"))


def test_http_crawl_refuses_local_files_and_other_hosts(tmp_path: Path) -> None:
    world = build_chopin2021_world(tmp_path / "world")
    secret = _secret_tree(tmp_path / "secret")
    with LoopbackServer(tmp_path / "other-host") as other:
        _secret_tree(other.root)
        hostile_news = [(secret / "article/1/results").as_uri(), other.url("article/1/results")]
        hostile_index = [
            (secret / "competitor/1/thief").as_uri(),
            other.url("competitor/1/thief"),
            "ftp://127.0.0.1/competitor/1/thief",
        ]
        _add_links(world.world_dir / "chopin2020", hostile_news, hostile_index)
        with LoopbackServer(world.world_dir / "chopin2020") as site_server:
            base = site_server.url("")
            raw = tmp_path / "raw"
            site = collect_site_results(base, PageFetcher(raw, scope=CrawlScope.of(base)).fetch)
        assert other.requests == []  # never contacted
    assert site.results.prize_list() == load_curated().results().prize_list()
    assert SECRET not in _raw_texts(raw)
    assert all(page.startswith(base) for page in site.pages)
    refused = {line.url: line for line in site.refused}
    assert set(refused) == set(hostile_news + hostile_index)
    assert refused[hostile_news[0]].found_on == base + "en/news"
    assert "scheme 'file'" in refused[hostile_news[0]].reason
    assert f"host 127.0.0.1:{other.port}" in refused[hostile_news[1]].reason
    assert "scheme 'ftp'" in refused["ftp://127.0.0.1/competitor/1/thief"].reason


def test_file_crawl_stays_under_its_folder(tmp_path: Path) -> None:
    world = build_chopin2021_world(tmp_path / "world")
    site_dir = world.world_dir / "chopin2020"
    secret = _secret_tree(tmp_path / "secret")
    # A relative link climbing out of the folder, and a symlink inside it pointing out.
    (site_dir / "en" / "article" / "900").mkdir(parents=True)
    (site_dir / "en" / "article" / "900" / "results").symlink_to(secret / "article/1/results")
    climbing = "../../../secret/article/1/results"
    _add_links(site_dir, [climbing, "article/900/results", "http://127.0.0.1:9/article/1/r"], [])
    raw = tmp_path / "raw"
    base = world.chopin2021_base_url
    site = collect_site_results(base, PageFetcher(raw, scope=CrawlScope.of(base)).fetch)
    assert site.results.prize_list() == load_curated().results().prize_list()
    assert SECRET not in _raw_texts(raw)
    news = base + "en/news"
    reasons = {line.url: line.reason for line in site.refused if line.found_on == news}
    climbed, linked = (secret / "article/1/results").as_uri(), base + "en/article/900/results"
    assert set(reasons) == {climbed, linked, "http://127.0.0.1:9/article/1/r"}
    assert "outside the crawl's folder" in reasons[climbed]
    assert "outside the crawl's folder" in reasons[linked]  # the symlink's target is
    assert "scheme 'http'" in reasons["http://127.0.0.1:9/article/1/r"]


def test_redirect_to_another_host_is_refused(tmp_path: Path) -> None:
    world = build_chopin2021_world(tmp_path / "world")
    with LoopbackServer(tmp_path / "other-host") as other:
        _secret_tree(other.root)
        _add_links(world.world_dir / "chopin2020", ["article/950/moved"], [])
        with LoopbackServer(world.world_dir / "chopin2020") as site_server:
            site_server.behaviour.redirects["/en/article/950/moved"] = other.url(
                "article/1/results"
            )
            base = site_server.url("")
            raw = tmp_path / "raw"
            site = collect_site_results(base, PageFetcher(raw, scope=CrawlScope.of(base)).fetch)
        assert other.requests == []
    assert SECRET not in _raw_texts(raw)
    assert [line.url for line in site.refused] == [base + "en/article/950/moved"]
    assert "redirect" in site.refused[0].reason
    assert other.url("article/1/results") in site.refused[0].reason


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://chopin2020.pl/en/news", None),
        ("https://CHOPIN2020.pl:443/en/x", None),
        ("http://chopin2020.pl/en/news", "scheme 'http'"),
        ("https://chopin2020.pl:8443/en/news", "host chopin2020.pl:8443"),
        ("https://evil.example/en/news", "host evil.example"),
        ("https://chopin2020.pl@evil.example/", "host evil.example"),
        ("file:///etc/passwd", "scheme 'file'"),
        ("javascript:alert(1)", "scheme 'javascript'"),
        ("data:text/html,hi", "scheme 'data'"),
    ],
)
def test_scope_of_an_https_base(url: str, reason: str | None) -> None:
    scope = CrawlScope.of("https://chopin2020.pl/")
    refusal = scope.refusal(url)
    if reason is None:
        assert refusal is None
        scope.require(url)
    else:
        assert refusal is not None and reason in refusal
        with pytest.raises(OutOfScopeError, match="refusing"):
            scope.require(url)


def test_scope_of_a_file_base(tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "en").mkdir(parents=True)
    scope = CrawlScope.of(site.as_uri() + "/")
    assert scope.refusal((site / "en" / "news").as_uri()) is None
    # Percent-encoded dots are decoded before the path is resolved.
    assert "outside" in (scope.refusal(site.as_uri() + "/en/%2e%2e/%2E%2E/x") or "")
    assert "outside" in (scope.refusal((tmp_path / "x").as_uri()) or "")
    assert "outside" in (scope.refusal(site.as_uri() + "-sibling/x") or "")
    assert "scheme 'http'" in (scope.refusal("http://127.0.0.1/x") or "")
    assert "local" in (scope.refusal("file://other-host" + str(site / "x")) or "")


def test_results_asset_records_and_shows_refused_links(tmp_path: Path) -> None:
    import json

    import dagster as dg

    from piano_assets.chopin2021.assets import chopin2021_results
    from piano_assets.chopin2021.paths import Chopin2021Paths
    from piano_assets.layout import ModelRepoLayout
    from piano_assets.resources import ModelRepoResource, SourceUrlsResource, WebResource

    root = tmp_path / "repo"
    root.mkdir()
    world = build_chopin2021_world(tmp_path / "world")
    secret = _secret_tree(tmp_path / "secret")
    hostile = (secret / "article/1/results").as_uri()
    _add_links(world.world_dir / "chopin2020", [hostile], [])
    with LoopbackServer(world.world_dir / "chopin2020") as site_server:
        result = dg.materialize(
            [chopin2021_results],
            instance=dg.DagsterInstance.ephemeral(),
            resources={
                "model_repo": ModelRepoResource(root=str(root), dry_run=False),
                "web": WebResource(),
                "source_urls": SourceUrlsResource(
                    chopin2021_base_url=site_server.url(""),
                    chopin2021_channel_url=world.chopin2021_channel_url,
                ),
            },
        )
    assert result.success
    (materialization,) = result.asset_materializations_for_node("chopin2021_results")
    metadata = materialization.metadata
    assert metadata["source"].value == "official site + curated"
    assert hostile in metadata["refused_links"].value
    report = json.loads(Chopin2021Paths(ModelRepoLayout(root.resolve())).cross_check.read_text())
    assert [line["url"] for line in report["refused_links"]] == [hostile]
    assert SECRET not in _raw_texts(ModelRepoLayout(root.resolve()).raw_pages / "chopin2021")
