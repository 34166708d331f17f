"""The T4 catalog: flat channel listings → kept recitals (each with the reasons it passed) and a
ledger of what was dropped and why. Dagster-free.

Filters, in order: unavailable (private/deleted as the listing shows), live or upcoming streams,
shorts, duration bounds, non-piano titles (ensembles, orchestra, voice, talk, masterclasses).
A video listed on several channels is kept once, under the first channel in list order; the
others are named in `also_on` and ledgered as duplicates.

Recording keys are `yt-<lower-cased id>-<8 hex of sha256(id)>`: stable (a function of the video
id alone), filesystem-safe (`validate_key`), and distinct for ids that differ only in case
(YouTube ids are case-sensitive).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, model_validator

from piano_assets.engine.files import validate_key
from piano_assets.lib.jsonl import read_jsonl, write_jsonl
from piano_assets.sources.errors import SourceError
from piano_assets.sources.ytdlp import YouTubeListingLike
from piano_assets.youtube_piano.channels import Channel, ChannelListing, channel_listing_url
from piano_assets.youtube_piano.failures import DownloadFailure, classify_error

__all__ = [
    "CatalogBuild",
    "CatalogError",
    "CatalogFilters",
    "ChannelListingResult",
    "DropRule",
    "DroppedVideo",
    "KeptVideo",
    "build_catalog",
    "chunked",
    "list_channels",
    "non_piano_match",
    "read_catalog",
    "recording_key",
    "verify_channels",
    "write_catalog",
]

_KEY_PREFIX = "yt-"
_KEY_SLUG_MAX = 100
_UNAVAILABLE = frozenset({"private", "needs_auth", "premium_only", "subscriber_only"})
_UNAVAILABLE_TITLES = frozenset({"[private video]", "[deleted video]"})
_LIVE_NOW = frozenset({"is_live", "is_upcoming", "post_live"})


class CatalogError(ValueError):
    """The catalog file or a parameter is unusable; the message names the file or the value."""


class CatalogFilters(BaseModel):
    """The catalog's filter settings (the integrator maps them from PIANO_ASSETS_* settings)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_duration_s: float = Field(default=120.0, ge=0)
    max_duration_s: float = Field(default=4 * 3600.0, gt=0)
    keep_unknown_duration: bool = Field(
        default=True,
        description="Keep videos whose listing gives no duration (the download step sees it).",
    )
    keep_past_live_streams: bool = Field(
        default=False,
        description="Keep recordings of finished live streams (`was_live`); current and "
        "upcoming streams are always dropped.",
    )
    max_videos_per_channel: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _bounds_ordered(self) -> CatalogFilters:
        if self.min_duration_s >= self.max_duration_s:
            raise ValueError(
                f"min_duration_s ({self.min_duration_s}) must be below "
                f"max_duration_s ({self.max_duration_s})"
            )
        return self


class DropRule(StrEnum):
    UNAVAILABLE = "unavailable"
    LIVE = "live"
    SHORT = "short"
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    UNKNOWN_DURATION = "unknown_duration"
    NON_PIANO = "non_piano"
    DUPLICATE = "duplicate"


class KeptVideo(BaseModel):
    """One kept video: one dynamic partition of `youtube_piano_recordings`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    recording_id: str
    video_id: str
    channel_key: str
    channel_name: str
    title: str
    url: str
    duration_s: float | None = None
    upload_date: str | None = None
    live_status: str | None = None
    also_on: list[str] = Field(default_factory=list, description="Other channels listing it.")
    passed: list[str] = Field(description="Why it passed, one line per filter.")


class DroppedVideo(BaseModel):
    """One ledger row: a listed video that was not kept, and why."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    video_id: str
    channel_key: str
    title: str
    url: str
    duration_s: float | None = None
    rule: DropRule
    reason: str


class ChannelListingResult(BaseModel):
    """What listing one channel gave: its entries, or a classified failure."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    channel: Channel
    entries: list = Field(default_factory=list)  # ListingEntry rows (dataclasses)
    failure: DownloadFailure | None = None
    observed_channel_ids: list[str] = Field(default_factory=list)


class CatalogBuild(BaseModel):
    videos: list[KeptVideo]
    ledger: list[DroppedVideo]
    channel_failures: dict[str, DownloadFailure] = Field(default_factory=dict)
    stale: list[str] = Field(
        default_factory=list,
        description="Keys of an earlier catalog no longer kept; their partitions stay registered.",
    )

    @property
    def keys(self) -> list[str]:
        return [video.recording_id for video in self.videos]

    def ledger_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for row in self.ledger:
            counts[row.rule.value] = counts.get(row.rule.value, 0) + 1
        return dict(sorted(counts.items()))

    def ledger_frame(self) -> pl.DataFrame:
        columns = list(DroppedVideo.model_fields)
        if not self.ledger:
            return pl.DataFrame(schema=dict.fromkeys(columns, pl.String)).with_columns(
                pl.col("duration_s").cast(pl.Float64)
            )
        return pl.DataFrame([row.model_dump(mode="json") for row in self.ledger])

    def ledger_markdown(self, limit: int = 50) -> str:
        """The ledger for asset metadata: counts by rule, then the first `limit` rows."""
        lines = ["| rule | count |", "|---|---|"]
        lines += [f"| {rule} | {count} |" for rule, count in self.ledger_counts().items()]
        lines += ["", "| channel | video | title | rule | reason |", "|---|---|---|---|---|"]
        for row in self.ledger[:limit]:
            cells = [row.channel_key, row.video_id, row.title, row.rule.value, row.reason]
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        if len(self.ledger) > limit:
            lines.append(f"\n… and {len(self.ledger) - limit} more rows in the ledger file.")
        return "\n".join(lines)


# -- keys --------------------------------------------------------------------------------------


def recording_key(video_id: str) -> str:
    """`yt-dqw4w9wgxcq-1f0d5b7a`: stable, safe as a file name, distinct across id case."""
    if not video_id:
        raise CatalogError("cannot key a video without an id")
    slug = re.sub(r"[^a-z0-9_-]+", "-", video_id.lower()).strip("-_")[:_KEY_SLUG_MAX] or "v"
    digest = hashlib.sha256(video_id.encode("utf-8")).hexdigest()[:8]
    return validate_key(f"{_KEY_PREFIX}{slug}-{digest}")


def chunked(keys: Sequence[str], size: int = 5_000) -> Iterator[list[str]]:
    """Keys in chunks: SQLite stops at ~32k variables in one `IN (…)` (dagster #16260)."""
    if size < 1:
        raise CatalogError(f"chunk size must be at least 1, not {size}")
    for start in range(0, len(keys), size):
        yield list(keys[start : start + size])


# -- non-piano titles --------------------------------------------------------------------------


def _fold(text: str) -> str:
    """Lower case without accents, so 'Études' and 'etudes' match the same rule."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()


# Solo piano works whose names hold an ensemble or vocal word: removed before the rules run.
_PIANO_WORK_NAMES = re.compile(
    r"symphonic (etudes|studies)|etudes symphoniques|sinfonische etuden|"
    r"songs? without words|lieder ohne worte|romances? sans paroles|"
    r"(spinning|spring|hunting|venetian boat|gondola) song|"
    r"italian concerto|italienische[sn]? konzert|concerto italien|"
    r"concerto without orchestra|concert sans orchestre|konzert ohne orchester|"
    r"(menuett?o?|minuet|scherzo)\s*(and|e|und|&)\s*trio|"
    r"goldberg[- ]variations?.{0,40}\baria\b|\baria\b.{0,40}goldberg"
)
# Explicitly solo piano (a transcription of an orchestral or vocal work): ensemble and vocal
# rules do not apply; talk and masterclass rules still do.
_SOLO_MARKERS = re.compile(
    r"\bsolo piano\b|\bpiano solo\b|\bfor piano\b(?!\s*(and|&|,|trio|quartet|quintet))|"
    r"\btranscri(ption|bed)\b|\bparaphrase\b|\breminiscences\b"
)
_NON_PIANO_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "ensemble",
        re.compile(
            r"\b(orchestra|orchestre|orchester|orquesta|philharmoni\w*|symphony|symphonie|"
            r"sinfonie|concerto|konzert|quartet|quartett|quatuor|quintet|quintett|sextet|"
            r"septet|octet|trio|ensemble|chamber music|kammermusik|violin|violine|violon|"
            r"viola|cello|violoncello|double bass|flute|clarinet|oboe|bassoon|horn|trumpet|"
            r"trombone|harp|guitar|percussion|conductor|conducts?)\b"
        ),
    ),
    (
        "vocal",
        re.compile(
            r"\b(soprano|mezzo|tenor|baritone|countertenor|contralto|singer|sings|vocal|voice|"
            r"choir|chorus|lieder|lied|melodies|songs?|aria|opera|cantata|oratorio)\b"
        ),
    ),
    (
        "talk",
        re.compile(
            r"\b(interview|in conversation|conversation with|talks?|lecture|podcast|q ?& ?a|"
            r"panel|discussion|documentary|behind the scenes|trailer|teaser|announcement|"
            r"press conference|ceremony|webinar|introduces)\b"
        ),
    ),
    (
        "masterclass",
        re.compile(r"\b(master ?class(es)?|lessons?|tutorial|how to play|workshop|coaching)\b"),
    ),
)


def non_piano_match(title: str) -> tuple[str, str] | None:
    """(category, the word that matched) when the title says it is not solo piano, else None."""
    folded = _PIANO_WORK_NAMES.sub(" ", _fold(title))
    solo = _SOLO_MARKERS.search(folded) is not None
    for category, pattern in _NON_PIANO_RULES:
        if solo and category in {"ensemble", "vocal"}:
            continue
        if match := pattern.search(folded):
            return category, match.group(0)
    return None


# -- filters -----------------------------------------------------------------------------------


def _clock(seconds: float) -> str:
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _is_short(url: str) -> bool:
    return "/shorts/" in urlsplit(url).path


@dataclass
class _Verdict:
    passed: list[str] = field(default_factory=list)
    rule: DropRule | None = None
    reason: str = ""

    def drop(self, rule: DropRule, reason: str) -> _Verdict:
        self.rule, self.reason = rule, reason
        return self


def _judge(entry: YouTubeListingLike, filters: CatalogFilters) -> _Verdict:  # noqa: PLR0911 - one exit per filter
    verdict = _Verdict()
    availability = entry.availability
    if (availability in _UNAVAILABLE) or entry.title.strip().lower() in _UNAVAILABLE_TITLES:
        return verdict.drop(
            DropRule.UNAVAILABLE, f"the listing shows it as {availability or entry.title!r}"
        )
    verdict.passed.append(
        f"available ({availability})" if availability else "availability not given by the listing"
    )
    status = entry.live_status
    if status in _LIVE_NOW:
        return verdict.drop(DropRule.LIVE, f"a live stream (live_status={status})")
    if status == "was_live" and not filters.keep_past_live_streams:
        return verdict.drop(DropRule.LIVE, "a past live stream (live_status=was_live)")
    verdict.passed.append(
        f"not a live stream (live_status={status})" if status else "not marked live by the listing"
    )
    if _is_short(entry.url):
        return verdict.drop(DropRule.SHORT, f"a short ({entry.url})")
    verdict.passed.append("not a short (no /shorts/ URL)")
    bounds = f"[{_clock(filters.min_duration_s)}, {_clock(filters.max_duration_s)}]"
    duration = entry.duration_s
    if duration is None:
        if not filters.keep_unknown_duration:
            return verdict.drop(DropRule.UNKNOWN_DURATION, "the listing gives no duration")
        verdict.passed.append(f"duration unknown in the listing (bounds {bounds} not applied)")
    elif duration < filters.min_duration_s:
        return verdict.drop(DropRule.TOO_SHORT, f"{_clock(duration)} is shorter than {bounds}")
    elif duration > filters.max_duration_s:
        return verdict.drop(DropRule.TOO_LONG, f"{_clock(duration)} is longer than {bounds}")
    else:
        verdict.passed.append(f"duration {_clock(duration)} within {bounds}")
    if found := non_piano_match(entry.title):
        category, word = found
        return verdict.drop(DropRule.NON_PIANO, f"title says {category} ({word!r})")
    verdict.passed.append("no ensemble, vocal, talk or masterclass word in the title")
    return verdict


def build_catalog(
    listings: Sequence[ChannelListingResult],
    filters: CatalogFilters | None = None,
    previous_keys: Iterable[str] = (),
) -> CatalogBuild:
    """Filter every channel's listing; key the kept videos; ledger the rest. Pure."""
    filters = filters or CatalogFilters()
    first_seen: dict[str, tuple[Channel, YouTubeListingLike]] = {}
    also_on: dict[str, list[str]] = {}
    ledger: list[DroppedVideo] = []
    failures: dict[str, DownloadFailure] = {}
    for result in listings:
        if result.failure is not None:
            failures[result.channel.key] = result.failure
            continue
        entries = list(result.entries)
        if filters.max_videos_per_channel is not None:
            entries = entries[: filters.max_videos_per_channel]
        for entry in entries:
            if entry.video_id in first_seen:
                owner = first_seen[entry.video_id][0]
                if owner.key != result.channel.key:
                    also_on.setdefault(entry.video_id, []).append(result.channel.key)
                    ledger.append(
                        _dropped(
                            entry,
                            result.channel,
                            DropRule.DUPLICATE,
                            f"also on channel {owner.key!r}, kept there once",
                        )
                    )
                continue
            first_seen[entry.video_id] = (result.channel, entry)

    videos: list[KeptVideo] = []
    for video_id, (channel, entry) in first_seen.items():
        verdict = _judge(entry, filters)
        if verdict.rule is not None:
            ledger.append(_dropped(entry, channel, verdict.rule, verdict.reason))
            continue
        others = also_on.get(video_id, [])
        where = f"listed on channel {channel.key!r}" + (
            f" (also on {', '.join(others)}; kept once)" if others else ""
        )
        videos.append(
            KeptVideo(
                recording_id=recording_key(video_id),
                video_id=video_id,
                channel_key=channel.key,
                channel_name=channel.name,
                title=entry.title,
                url=entry.url,
                duration_s=entry.duration_s,
                upload_date=entry.upload_date,
                live_status=entry.live_status,
                also_on=others,
                passed=[where, *verdict.passed],
            )
        )
    keys = {video.recording_id for video in videos}
    if len(keys) != len(videos):  # pragma: no cover - sha256 prefixes of distinct ids
        raise CatalogError("two videos got the same recording key")
    videos.sort(key=lambda video: video.recording_id)
    return CatalogBuild(
        videos=videos,
        ledger=ledger,
        channel_failures=failures,
        stale=sorted(set(previous_keys) - keys),
    )


def _dropped(
    entry: YouTubeListingLike, channel: Channel, rule: DropRule, reason: str
) -> DroppedVideo:
    return DroppedVideo(
        video_id=entry.video_id,
        channel_key=channel.key,
        title=entry.title,
        url=entry.url,
        duration_s=entry.duration_s,
        rule=rule,
        reason=reason,
    )


# -- listing (yt-dlp) --------------------------------------------------------------------------


class FlatLister(Protocol):
    def list_flat(self, url: str, *, expand_nested: bool = True) -> list: ...


def list_channels(client: FlatLister, channels: Sequence[Channel]) -> list[ChannelListingResult]:
    """List every channel flat; a channel that fails is reported, the others go on."""
    results = []
    for channel in channels:
        youtube = channel.listing is ChannelListing.YOUTUBE
        try:
            entries = client.list_flat(channel_listing_url(channel), expand_nested=not youtube)
        except SourceError as err:
            failure = classify_error(err, youtube=youtube)
            results.append(ChannelListingResult(channel=channel, failure=failure))
            continue
        observed = sorted({e.channel_id for e in entries if getattr(e, "channel_id", None)})
        results.append(
            ChannelListingResult(channel=channel, entries=entries, observed_channel_ids=observed)
        )
    return results


def verify_channels(results: Sequence[ChannelListingResult]) -> list[str]:
    """What to correct in the channel list, from real listings (empty when all agree).

    Run once where YouTube is reachable: the listing reports each video's channel id.
    """
    problems = []
    for result in results:
        channel = result.channel
        if result.failure is not None:
            problems.append(
                f"{channel.key}: {channel.url} could not be listed: {result.failure.message}"
            )
            continue
        observed = result.observed_channel_ids
        if channel.listing is ChannelListing.FEED:
            continue
        if not observed:
            problems.append(
                f"{channel.key}: the listing reports no channel id; check {channel.url}"
            )
        elif channel.channel_id is None:
            problems.append(
                f"{channel.key}: set channel_id: {observed[0]} and verified: true "
                f"(listed from {channel.url})"
            )
        elif channel.channel_id not in observed:
            problems.append(
                f"{channel.key}: channel_id {channel.channel_id} differs from the listing's "
                f"{observed}"
            )
    return problems


# -- on disk -----------------------------------------------------------------------------------


def write_catalog(path: Path, videos: Sequence[KeptVideo]) -> None:
    """One JSON line per kept video, sorted by key, written atomically."""
    write_jsonl(Path(path), sorted(videos, key=lambda v: v.recording_id))


def read_catalog(path: Path) -> list[KeptVideo]:
    """The catalog written by `write_catalog` ([] when there is none yet)."""
    return read_jsonl(
        Path(path), KeptVideo, missing_ok=True, what="a T4 catalog record", error=CatalogError
    )
