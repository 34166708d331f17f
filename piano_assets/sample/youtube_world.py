"""The sample's local stand-in for T4's YouTube channels: three RSS "channels" and their audio.

`build_youtube_world(world_dir)` writes, deterministically, under `world_dir/youtube/`:

* `hall-a.rss`, `conservatory-b.rss`, `festival-c.rss`: channel listings yt-dlp's generic
  extractor reads flat (title, guid as the video id, enclosure URL, `itunes:duration`);
* `media/*.wav`: synthesized piano-like recitals (22.05 kHz stereo, so the tier's conversion to
  24 kHz mono runs), 40–62 s each; never downloaded, not anyone's playing;
* `channels.yaml`: a channel list (the shipped list's format, `listing: feed`) naming the three.

The listings include every case the tier must handle: a removed video (listed, its media file
missing → a permanent download failure of that partition only), a short (a `/shorts/` URL),
non-piano videos by title (a concerto with orchestra, an interview), a video too short for the
sample's duration bounds, and one recital listed on two channels (kept once).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import yaml

from piano_assets.engine.files import atomic_write_text
from piano_assets.sample.feeds import rss_feed, rss_item, write_media
from piano_assets.youtube_piano.catalog import CatalogFilters, DropRule, recording_key

WORLD_SUBDIR = "youtube"
MEDIA_DIR = "media"
CHANNELS_FILE = "channels.yaml"
# The sample's recitals are under a minute: bounds that keep them and drop the 12 s clip.
SAMPLE_FILTERS = CatalogFilters(min_duration_s=30.0, max_duration_s=600.0)


@dataclass(frozen=True)
class WorldVideo:
    video_id: str
    title: str
    seconds: float
    pub_date: str
    media: bool = True  # False: listed, but no media file (removed, or never downloaded)
    shorts: bool = False  # served under /shorts/, as YouTube lists shorts
    expected: DropRule | None = None  # the catalog's verdict; None: kept


@dataclass(frozen=True)
class WorldChannel:
    key: str
    name: str
    category: str
    videos: tuple[WorldVideo, ...]


_SHARED = WorldVideo(
    "yt-sample-shared-kinderszenen",
    "Schumann: Kinderszenen, Op. 15 – festival recital (shared upload)",
    40.0,
    "Sat, 06 Jul 2024 19:00:00 +0000",
)
REMOVED = WorldVideo(
    "yt-sample-removed-liszt",
    "Liszt: Sonata in B minor, S. 178 – recital",
    50.0,
    "Mon, 03 Jun 2024 19:30:00 +0000",
    media=False,
)

CHANNELS: tuple[WorldChannel, ...] = (
    WorldChannel(
        "sample-hall-a",
        "Sample Recital Hall",
        "concert_hall",
        (
            WorldVideo(
                "yt-sample-ballade",
                "Chopin: Ballade No. 1 in G minor, Op. 23 – recital at the Sample Hall",
                62.0,
                "Sat, 01 Jun 2024 19:30:00 +0000",
            ),
            WorldVideo(
                "yt-sample-partita",
                "Bach: Partita No. 2 in C minor, BWV 826",
                45.0,
                "Sun, 02 Jun 2024 17:00:00 +0000",
            ),
            REMOVED,
            WorldVideo(
                "yt-sample-concerto",
                "Mozart: Piano Concerto No. 21 with the Sample Chamber Orchestra",
                58.0,
                "Fri, 07 Jun 2024 20:00:00 +0000",
                media=False,
                expected=DropRule.NON_PIANO,
            ),
            _SHARED,
        ),
    ),
    WorldChannel(
        "sample-conservatory-b",
        "Sample Conservatory",
        "conservatory",
        (
            WorldVideo(
                "yt-sample-etudes",
                "Chopin: Études Op. 10 Nos. 1–4 – piano department recital",
                48.0,
                "Tue, 14 May 2024 18:00:00 +0000",
            ),
            WorldVideo(
                "yt-sample-short",
                "Chopin Étude in 30 seconds",
                30.0,
                "Wed, 15 May 2024 12:00:00 +0000",
                media=False,
                shorts=True,
                expected=DropRule.SHORT,
            ),
            WorldVideo(
                "yt-sample-interview",
                "Interview with the head of the piano department",
                55.0,
                "Thu, 16 May 2024 12:00:00 +0000",
                media=False,
                expected=DropRule.NON_PIANO,
            ),
        ),
    ),
    WorldChannel(
        "sample-festival-c",
        "Sample Piano Festival",
        "festival",
        (
            WorldVideo(
                "yt-sample-debussy",
                "Debussy: Estampes – festival recital",
                52.0,
                "Fri, 05 Jul 2024 20:00:00 +0000",
            ),
            WorldVideo(
                "yt-sample-prelude",
                "Chopin: Prelude in A major, Op. 28 No. 7",
                12.0,
                "Fri, 05 Jul 2024 21:00:00 +0000",
                media=False,
                expected=DropRule.TOO_SHORT,
            ),
            _SHARED,  # the same video on a second channel: kept once, under sample-hall-a
        ),
    ),
)


@dataclass(frozen=True)
class YouTubeWorld:
    world_dir: Path
    channels_file: Path  # a channel list (`listing: feed`) naming the three feeds
    channel_urls: dict[str, str]  # channel key -> feed URL
    filters: CatalogFilters
    expected_kept: dict[str, str]  # video id -> recording key (the removed video included)
    expected_ledger: dict[tuple[str, str], DropRule]  # (channel key, video id) -> rule
    removed_video_id: str
    removed_recording_id: str


def _expected() -> tuple[dict[str, str], dict[tuple[str, str], DropRule]]:
    kept: dict[str, str] = {}
    ledger: dict[tuple[str, str], DropRule] = {}
    seen: set[str] = set()
    for channel in CHANNELS:
        for video in channel.videos:
            if video.video_id in seen:
                ledger[(channel.key, video.video_id)] = DropRule.DUPLICATE
                continue
            seen.add(video.video_id)
            if video.expected is None:
                kept[video.video_id] = recording_key(video.video_id)
            else:
                ledger[(channel.key, video.video_id)] = video.expected
    return kept, ledger


def _feed_xml(channel: WorldChannel, media_base: str) -> str:
    items = (
        rss_item(
            video.video_id,
            video.title,
            f"{media_base}{'shorts/' if video.shorts else ''}{video.video_id}.wav",
            video.pub_date,
            video.seconds,
        )
        for video in channel.videos
    )
    return rss_feed(
        channel.name, "Sample stand-in for a YouTube channel (synthesized audio)", items
    )


def sample_channel_list(channel_urls: dict[str, str]) -> str:
    """The sample's channel list as YAML, in the shipped list's format."""
    entries = []
    for channel in CHANNELS:
        entries.append(
            {
                "key": channel.key,
                "name": channel.name,
                "url": channel_urls[channel.key],
                "listing": "feed",
                "channel_id": None,
                "verified": False,
                "category": channel.category,
                "why": "The embedded sample's local stand-in for a YouTube channel.",
                "content": "Synthesized piano-like recitals and listing edge cases.",
                "licence": "Generated by piano_assets; no third-party content.",
                "evidence": "Written by piano_assets.sample.youtube_world.",
            }
        )
    header = "# The embedded sample's T4 channels (generated; local feeds, no internet).\n"
    return header + yaml.safe_dump({"version": 1, "channels": entries}, sort_keys=False)


def build_youtube_world(world_dir: Path, *, media_base_url: str | None = None) -> YouTubeWorld:
    """Write the T4 part of the sample's outside world (idempotent: same bytes every time).

    `media_base_url` replaces the feeds' `file://` media URLs (e.g. `http://127.0.0.1:PORT/
    youtube/media/` when the world is served over HTTP).
    """
    base = world_dir.resolve() / WORLD_SUBDIR
    media = base / MEDIA_DIR
    served: dict[str, tuple[int, str, float]] = {}  # a video on two channels is served once
    for seed, video in enumerate(
        (v for channel in CHANNELS for v in channel.videos if v.media), start=4000
    ):
        served.setdefault(video.video_id, (seed, video.video_id, video.seconds))
    write_media(media, served.values())
    media_base = media_base_url or media.as_uri() + "/"
    channel_urls = {}
    for channel in CHANNELS:
        feed = base / f"{channel.key.removeprefix('sample-')}.rss"
        atomic_write_text(feed, _feed_xml(channel, media_base))
        channel_urls[channel.key] = feed.as_uri()
    channels_file = base / CHANNELS_FILE
    atomic_write_text(channels_file, sample_channel_list(channel_urls))
    kept, ledger = _expected()
    world = YouTubeWorld(
        world_dir=world_dir.resolve(),
        channels_file=channels_file,
        channel_urls=channel_urls,
        filters=SAMPLE_FILTERS,
        expected_kept=kept,
        expected_ledger=ledger,
        removed_video_id=REMOVED.video_id,
        removed_recording_id=recording_key(REMOVED.video_id),
    )
    summary = {
        "channels_file": str(channels_file),
        "channel_urls": channel_urls,
        "filters": SAMPLE_FILTERS.model_dump(),
        "expected_kept": kept,
        "expected_ledger": {f"{c}/{v}": rule.value for (c, v), rule in ledger.items()},
        "removed_recording_id": world.removed_recording_id,
    }
    atomic_write_text(base / "youtube_world.json", json.dumps(summary, indent=2) + "\n")
    return world
