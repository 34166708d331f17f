"""What the sample's stand-in channels share: synthesized media files, and the RSS feed that
lists them (yt-dlp's generic extractor lists a feed as it would a channel)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from piano_assets.sample.synth import write_piano_wav

# What the stand-in sources serve: not 24 kHz mono, so the platform's conversion does real work.
MEDIA_SAMPLE_RATE = 22_050
MEDIA_CHANNELS = 2


def write_media(media: Path, videos: Iterable[tuple[int, str, float]]) -> None:
    """`<media>/<video id>.wav` of piano-like audio per (seed, video id, seconds); a file
    already there is kept (the same seed gives the same bytes)."""
    for seed, video_id, seconds in videos:
        target = media / f"{video_id}.wav"
        if not target.exists():
            write_piano_wav(
                target,
                seconds,
                sample_rate=MEDIA_SAMPLE_RATE,
                seed=seed,
                channels=MEDIA_CHANNELS,
            )


def rss_item(video_id: str, title: str, url: str, pub_date: str, seconds: float | None) -> str:
    """One feed item; `seconds` None: the feed declares no duration."""
    duration = f"<itunes:duration>{int(seconds)}</itunes:duration>" if seconds is not None else ""
    return (
        "<item>"
        f"<title>{escape(title)}</title>"
        f'<guid isPermaLink="false">{escape(video_id)}</guid>'
        f'<enclosure url={quoteattr(url)} type="audio/wav"/>'
        f"<pubDate>{escape(pub_date)}</pubDate>"
        f"{duration}"
        "</item>"
    )


def rss_feed(title: str, description: str, items: Iterable[str]) -> str:
    """An RSS 2.0 feed (iTunes namespace for durations); `title` is escaped here."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd">\n'
        f"<channel>\n<title>{escape(title)}</title>\n"
        f"<description>{description}</description>\n" + "\n".join(items) + "\n</channel>\n</rss>\n"
    )
