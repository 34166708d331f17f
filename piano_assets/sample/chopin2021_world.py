"""The sample's local "outside world" for the Chopin 2021 tier: results pages, a channel, audio.

`build_chopin2021_world(world_dir)` writes, deterministically:

* `chopin2020/`: pages modelled on the official site's announcements (chopin2020.pl): a news
  listing (`en/news`) linking to the Stage I–III results and the prize list, and a competitors
  index (`en/competitors`) linking to one page per competitor. Links are relative, so the tree
  works as a `file://` base URL and served on 127.0.0.1 alike. The facts come from the curated
  results (`piano_assets/chopin2021/curated_results_2021.json`); honorifics are left out,
  since the curated file does not record them.
* `channel/videos.rss`: the official channel as an RSS feed yt-dlp's generic extractor lists,
  with titles modelled on the real channel ("BRUCE (XIAOYU) LIU – first round (18th Chopin
  Competition, Warsaw)"): diacritics, a name in parentheses, a surname-first title, a whole
  session (several performers) and items that are not 2021 performances; and stage I videos
  of two fictional pianists ("SAMPLEPIANIST") whom the curated results lack, as they lack 20
  real stage I pianists: the catalog derives them (see `chopin2021/derive.py`).
* `media/*.wav`: synthesized piano-like audio (22.05 kHz stereo, so the tier's conversion to
  24 kHz mono is exercised). Never downloaded; the audio is not the performers' playing.

`include_missing_video=True` adds one listed video whose media file does not exist (a "gone"
video), for tests of per-partition failure; the default world is clean.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from pathlib import Path

from piano_assets.chopin2021.names import surname_first_slug
from piano_assets.chopin2021.results import (
    CompetitionResults,
    PerformerResult,
    Round,
    load_curated,
)
from piano_assets.engine.files import atomic_write_text
from piano_assets.sample.feeds import rss_feed, rss_item, write_media

SITE_DIR = "chopin2020"
FEED_PATH = "channel/videos.rss"
MEDIA_DIR = "media"


@dataclass(frozen=True)
class SampleVideo:
    video_id: str
    title: str
    seconds: float  # 0: listed, but no media file is written
    pub_date: str
    expected_key: str | None = None  # the recording key the tier should give it


@dataclass(frozen=True)
class CompetitionWorld:
    world_dir: Path
    chopin2021_base_url: str
    chopin2021_channel_url: str
    videos: tuple[SampleVideo, ...] = field(default=())
    missing_video_id: str | None = None

    @property
    def expected_recordings(self) -> dict[str, str]:
        """video id -> recording key, for every listed video that should become a recording."""
        return {v.video_id: v.expected_key for v in self.videos if v.expected_key}


# Matched recordings: each title exercises one robustness case of the matcher.
SAMPLE_VIDEOS: tuple[SampleVideo, ...] = (
    SampleVideo(
        "c21-liu-s1",
        "BRUCE (XIAOYU) LIU – first round (18th Chopin Competition, Warsaw)",
        62.0,
        "Tue, 05 Oct 2021 18:00:00 +0000",
        "s1-liu-bruce-xiaoyu-01",
    ),
    SampleVideo(
        "c21-lee-jaeyoon-s1",
        "JAEYOON LEE – first round (18th Chopin Competition, Warsaw)",
        35.0,
        "Mon, 04 Oct 2021 12:00:00 +0000",
        "s1-lee-jaeyoon-01",
    ),
    SampleVideo(
        "c21-kuszlik-s2",
        "KUSZLIK Jakub – second round (18th Chopin Competition, Warsaw)",
        40.0,
        "Tue, 12 Oct 2021 18:00:00 +0000",
        "s2-kuszlik-jakub-01",
    ),
    SampleVideo(
        "c21-garcia-s3",
        "MARTÍN GARCÍA GARCÍA – third round (18th Chopin Competition, Warsaw)",
        55.0,
        "Fri, 15 Oct 2021 12:00:00 +0000",
        "s3-garcia-martin-garcia-01",
    ),
    SampleVideo(
        "c21-gevorgyan-f",
        "EVA GEVORGYAN – final round (18th Chopin Competition, Warsaw)",
        45.0,
        "Tue, 19 Oct 2021 18:00:00 +0000",
        "f-gevorgyan-eva-01",
    ),
    SampleVideo(
        "c21-liu-f",
        "Bruce (Xiaoyu) Liu – Piano Concerto in E minor, Op. 11 (final round)",
        48.0,
        "Wed, 20 Oct 2021 20:00:00 +0000",
        "f-liu-bruce-xiaoyu-01",
    ),
)
# Stage I videos of pianists the curated results lack (they list 22 of the 42 eliminated in
# stage I). The real names are not known from the stored sources, and the sample never puts
# a result on a real person, so these pianists are fictional and say so ("SAMPLEPIANIST").
# The catalog derives them (eliminated in stage I, citing the video); one title is written
# family name first, as the channel writes some.
DERIVED_VIDEOS: tuple[SampleVideo, ...] = (
    SampleVideo(
        "c21-samplepianist-alpha-s1",
        "ALPHA SAMPLEPIANIST – first round (18th Chopin Competition, Warsaw)",
        31.0,
        "Tue, 05 Oct 2021 10:00:00 +0000",
        "s1-samplepianist-alpha-01",
    ),
    SampleVideo(
        "c21-samplepianist-beta-s1",
        "SAMPLEPIANIST Beta – first round (18th Chopin Competition, Warsaw)",
        31.0,
        "Wed, 06 Oct 2021 10:00:00 +0000",
        "s1-samplepianist-beta-01",
    ),
)
# Listed, but not single 2021 performances: they belong in the ledger.
LEDGER_VIDEOS: tuple[SampleVideo, ...] = (
    SampleVideo(
        "c21-session-s1-03",
        "The 18th International Fryderyk Chopin Piano Competition (Stage I), session 3, 04.10.2021",
        0.0,
        "Mon, 04 Oct 2021 21:00:00 +0000",
    ),
    SampleVideo(
        "c15-cho-f",
        "SEONG-JIN CHO – final round (17th Chopin Competition, Warsaw)",
        0.0,
        "Tue, 20 Oct 2015 20:00:00 +0000",
    ),
    SampleVideo(
        "c21-inauguration",
        "Inauguration concert of the 18th Chopin Competition – Beethoven, Piano Concerto No. 3",
        0.0,
        "Sat, 02 Oct 2021 20:00:00 +0000",
    ),
)
MISSING_VIDEO = SampleVideo(
    "c21-kobayashi-s3",
    "AIMI KOBAYASHI – third round (18th Chopin Competition, Warsaw)",
    0.0,
    "Thu, 14 Oct 2021 18:00:00 +0000",
    "s3-kobayashi-aimi-01",
)


def build_chopin2021_world(
    world_dir: Path,
    *,
    include_missing_video: bool = False,
    media_base_url: str | None = None,
) -> CompetitionWorld:
    """Write the world under `world_dir` (idempotent: same arguments, same bytes).

    `media_base_url` replaces the feed's `file://` media URLs (e.g. `http://127.0.0.1:PORT/media/`
    when the world is served); the results pages use relative links and need no such setting.
    """
    world_dir = world_dir.resolve()
    results = load_curated().results()
    site = world_dir / SITE_DIR
    _write_site(site, results)

    media = world_dir / MEDIA_DIR
    videos = list(SAMPLE_VIDEOS) + list(DERIVED_VIDEOS) + list(LEDGER_VIDEOS)
    if include_missing_video:
        videos.append(MISSING_VIDEO)
    served = enumerate((*SAMPLE_VIDEOS, *DERIVED_VIDEOS), start=2021)
    write_media(media, ((seed, video.video_id, video.seconds) for seed, video in served))
    media_base = media_base_url or media.as_uri() + "/"
    feed = world_dir / FEED_PATH
    atomic_write_text(feed, _feed_xml(videos, media_base))
    world = CompetitionWorld(
        world_dir=world_dir,
        chopin2021_base_url=site.as_uri() + "/",
        chopin2021_channel_url=feed.as_uri(),
        videos=tuple(videos),
        missing_video_id=MISSING_VIDEO.video_id if include_missing_video else None,
    )
    summary = {
        "chopin2021_base_url": world.chopin2021_base_url,
        "chopin2021_channel_url": world.chopin2021_channel_url,
        "expected_recordings": world.expected_recordings,
        "missing_video_id": world.missing_video_id,
    }
    atomic_write_text(world_dir / "chopin2021_world.json", json.dumps(summary, indent=2) + "\n")
    return world


# -- the results site --------------------------------------------------------------------------

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>{title} | Chopin Competition 2020</title></head>
<body>
<!-- piano-assets sample world: modelled on chopin2020.pl, facts from the curated results -->
<header><nav><a href="{root}en/news">News</a> <a href="{root}en/competitors">Competitors</a></nav>
</header>
<main>
{body}
</main>
</body>
</html>
"""

_ARTICLES: tuple[tuple[str, str, Round], ...] = (
    ("238/znamy-wyniki-i-etapu", "Stage I results", Round.STAGE_II),
    ("251/znamy-wyniki-ii-etapu", "Stage II results", Round.STAGE_III),
    ("263/znamy-finalistow", "The finalists of the 18th Chopin Competition", Round.FINAL),
)
_PRIZES_ARTICLE = (
    "271/laureaci-xviii-konkursu-chopinowskiego",
    "Winners of the 18th Chopin Competition",
)
_OTHER_ARTICLE = ("229/jury-konkursu", "The Jury of the 18th Competition")


def _ordered(performers: list[PerformerResult]) -> list[PerformerResult]:
    return sorted(performers, key=lambda p: surname_first_slug(p.name))


def _page(title: str, body: str, depth: int) -> str:
    return _PAGE.format(title=html.escape(title), body=body, root="../" * depth)


def _write_site(site: Path, results: CompetitionResults) -> None:
    performers = list(results.performers)
    news_items = [
        f'<li><a href="article/{_OTHER_ARTICLE[0]}">{html.escape(_OTHER_ARTICLE[1])}</a></li>'
    ]
    for path, title, reached in _ARTICLES:
        qualified = _ordered([p for p in performers if p.furthest_round.order >= reached.order])
        target = "the final" if reached is Round.FINAL else reached.label.replace("s", "S", 1)
        lines = "\n".join(
            f"<p>{n}. {html.escape(p.name)}, {html.escape(p.country)}</p>"
            for n, p in enumerate(qualified, start=1)
        )
        body = (
            f"<article><h1>{html.escape(title)}</h1>\n"
            f"<p>By the verdict of the Jury, {len(qualified)} participants qualified to "
            f"{target}. They are:</p>\n{lines}\n</article>"
        )
        atomic_write_text(site / "en" / "article" / f"{path}", _page(title, body, 3))
        news_items.append(f'<li><a href="article/{path}">{html.escape(title)}</a></li>')
    atomic_write_text(site / "en" / "article" / _PRIZES_ARTICLE[0], _prizes_page(performers))
    news_items.append(
        f'<li><a href="article/{_PRIZES_ARTICLE[0]}">{html.escape(_PRIZES_ARTICLE[1])}</a></li>'
    )
    atomic_write_text(
        site / "en" / "article" / _OTHER_ARTICLE[0],
        _page(_OTHER_ARTICLE[1], "<article><h1>The Jury</h1><p>17 jurors.</p></article>", 3),
    )
    news = "<h1>News</h1>\n<ul>\n" + "\n".join(reversed(news_items)) + "\n</ul>"
    atomic_write_text(site / "en" / "news", _page("News", news, 1))

    index_items = []
    for number, performer in enumerate(_ordered(performers), start=1):
        slug = surname_first_slug(performer.name)
        href = f"competitor/{number}/{slug}"
        index_items.append(
            f'<li><a href="{href}">{html.escape(performer.name)}</a> '
            f"<span>{html.escape(performer.country)}</span></li>"
        )
        atomic_write_text(site / "en" / href, _competitor_page(performer))
    index = "<h1>Competitors</h1>\n<ul>\n" + "\n".join(index_items) + "\n</ul>"
    atomic_write_text(site / "en" / "competitors", _page("Competitors", index, 1))


def _prizes_page(performers: list[PerformerResult]) -> str:
    laureates = sorted(
        (p for p in performers if p.prize), key=lambda p: (-p.ordinal, surname_first_slug(p.name))
    )
    lines = [
        f"<p>{html.escape(p.prize or '')} – {html.escape(p.name)}, {html.escape(p.country)}</p>"
        for p in laureates
    ]
    specials = [
        f"<p>{html.escape(prize)} – {html.escape(p.name)}, {html.escape(p.country)}</p>"
        for p in _ordered(performers)
        for prize in p.special_prizes
    ]
    body = (
        f"<article><h1>{html.escape(_PRIZES_ARTICLE[1])}</h1>\n"
        "<p>The Jury awarded the following prizes:</p>\n"
        + "\n".join(lines)
        + "\n<h2>Special prizes</h2>\n"
        + "\n".join(specials)
        + "\n</article>"
    )
    return _page(_PRIZES_ARTICLE[1], body, 3)


def _competitor_page(performer: PerformerResult) -> str:
    sections = []
    for round_, pieces in sorted(performer.repertoire.items(), key=lambda kv: kv[0].order):
        items = "\n".join(f"<li>{html.escape(piece)}</li>" for piece in pieces)
        label = "Final" if round_ is Round.FINAL else round_.label.replace("s", "S", 1)
        sections.append(f"<h2>{label}</h2>\n<ul>\n{items}\n</ul>")
    body = (
        f'<article class="competitor"><h1 class="competitor-name">{html.escape(performer.name)}'
        f'</h1>\n<p class="competitor-country">{html.escape(performer.country)}</p>\n'
        + "\n".join(sections)
        + "\n</article>"
    )
    return _page(performer.name, body, 3)


# -- the channel -------------------------------------------------------------------------------


def _feed_xml(videos: list[SampleVideo], media_base: str) -> str:
    items = (
        rss_item(
            video.video_id,
            video.title,
            f"{media_base}{video.video_id}.wav",
            video.pub_date,
            video.seconds or None,  # 0: listed without a duration
        )
        for video in videos
    )
    return rss_feed(
        "Chopin Institute", "Sample stand-in for the official channel (synthesized audio)", items
    )
