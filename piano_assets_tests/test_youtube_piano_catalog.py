"""T4 catalog: filters with reasons, the ledger, duplicates across channels, stable keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from piano_assets.engine.files import validate_key
from piano_assets.sources.ytdlp import ListingEntry, YtDlpClient
from piano_assets.youtube_piano.catalog import (
    CatalogError,
    CatalogFilters,
    ChannelListingResult,
    DropRule,
    build_catalog,
    chunked,
    list_channels,
    non_piano_match,
    read_catalog,
    recording_key,
    verify_channels,
    write_catalog,
)
from piano_assets.youtube_piano.channels import Channel
from piano_assets.youtube_piano.failures import FailureKind
from piano_assets_tests.sources_fixtures import LoopbackServer, rss_feed


def _channel(key: str, handle: str) -> Channel:
    return Channel(
        key=key,
        name=key.title(),
        url=f"https://www.youtube.com/@{handle}",
        verified=False,
        category="competition",
        why="test",
        content="test",
        licence="test",
    )


def _entry(
    video_id: str,
    title: str,
    duration: float | None = 1800.0,
    *,
    url: str | None = None,
    live: str | None = None,
    availability: str | None = None,
    channel_id: str | None = None,
) -> ListingEntry:
    return ListingEntry(
        video_id=video_id,
        title=title,
        url=url or f"https://www.youtube.com/watch?v={video_id}",
        playlist=None,
        duration_s=duration,
        upload_date="20240101",
        live_status=live,
        availability=availability,
        channel_id=channel_id,
    )


A = _channel("hall-a", "halla")
B = _channel("hall-b", "hallb")

LISTING_A = [
    _entry("Recital00001", "Chopin: Ballade No. 1 in G minor, Op. 23 – Anna Kowalska"),
    _entry("Liszt0000002", "Liszt: Beethoven Symphony No. 7, transcription for piano"),
    _entry("Schum0000003", "Schumann: Symphonic Études, Op. 13 (live at the hall)"),
    _entry("Mendel000004", "Mendelssohn: Songs without Words, Op. 19"),
    _entry("Conc00000005", "Rachmaninoff: Piano Concerto No. 2 with the City Orchestra"),
    _entry("Quart0000006", "Brahms: Piano Quartet No. 1"),
    _entry("Song00000007", "Schubert: Winterreise – soprano and piano"),
    _entry("Talk00000008", "In conversation with the jury chair"),
    _entry("Mclass000009", "Piano masterclass with a famous pianist"),
    _entry(
        "Short0000010",
        "Chopin Etude in 60 seconds",
        45.0,
        url="https://www.youtube.com/shorts/Short0000010",
    ),
    _entry("Tiny00000011", "Scarlatti: Sonata K. 141", 95.0),
    _entry("Huge00000012", "24-hour piano marathon", 90_000.0),
    _entry("Live00000013", "Live now: Final round", None, live="is_live"),
    _entry("Past00000014", "Recital stream (recorded)", 3600.0, live="was_live"),
    _entry("Priv00000015", "[Private video]", None, availability="private"),
    _entry("Unkn00000016", "Bach: Partita No. 2 in C minor", None),
    _entry("Dupl00000017", "Beethoven: Sonata Op. 111 – recital"),
]
LISTING_B = [
    _entry("Dupl00000017", "Beethoven: Sonata Op. 111 – recital"),
    _entry("Other0000018", "Debussy: Préludes, Book I"),
]


def _build(**filters: object):
    return build_catalog(
        [
            ChannelListingResult(channel=A, entries=LISTING_A),
            ChannelListingResult(channel=B, entries=LISTING_B),
        ],
        CatalogFilters(**filters),  # type: ignore[arg-type]
    )


def test_filters_keep_solo_piano_and_ledger_the_rest_with_reasons() -> None:
    build = _build()
    kept = {video.video_id for video in build.videos}
    assert kept == {
        "Recital00001",
        "Liszt0000002",
        "Schum0000003",
        "Mendel000004",
        "Unkn00000016",
        "Dupl00000017",
        "Other0000018",
    }
    rules = {row.video_id: row.rule for row in build.ledger}
    assert rules == {
        "Conc00000005": DropRule.NON_PIANO,
        "Quart0000006": DropRule.NON_PIANO,
        "Song00000007": DropRule.NON_PIANO,
        "Talk00000008": DropRule.NON_PIANO,
        "Mclass000009": DropRule.NON_PIANO,
        "Short0000010": DropRule.SHORT,
        "Tiny00000011": DropRule.TOO_SHORT,
        "Huge00000012": DropRule.TOO_LONG,
        "Live00000013": DropRule.LIVE,
        "Past00000014": DropRule.LIVE,
        "Priv00000015": DropRule.UNAVAILABLE,
        "Dupl00000017": DropRule.DUPLICATE,
    }
    reasons = {row.video_id: row.reason for row in build.ledger}
    assert "orchestra" in reasons["Conc00000005"] or "concerto" in reasons["Conc00000005"]
    assert "1:35" in reasons["Tiny00000011"] and "[2:00, 4:00:00]" in reasons["Tiny00000011"]
    assert "hall-a" in reasons["Dupl00000017"]
    assert build.ledger_counts()["non_piano"] == 5


def test_every_kept_video_carries_the_reason_it_passed_each_filter() -> None:
    by_id = {video.video_id: video for video in _build().videos}
    ballade = by_id["Recital00001"]
    assert ballade.passed[0] == "listed on channel 'hall-a'"
    assert "duration 30:00 within [2:00, 4:00:00]" in ballade.passed
    assert "not a short (no /shorts/ URL)" in ballade.passed
    assert any("title" in line for line in ballade.passed)
    assert any("duration unknown" in line for line in by_id["Unkn00000016"].passed)


def test_a_video_on_two_channels_is_kept_once_under_the_first() -> None:
    build = _build()
    duplicates = [v for v in build.videos if v.video_id == "Dupl00000017"]
    assert len(duplicates) == 1
    assert duplicates[0].channel_key == "hall-a"
    assert duplicates[0].also_on == ["hall-b"]
    assert "kept once" in duplicates[0].passed[0]


def test_filter_parameters_change_the_verdicts() -> None:
    build = _build(min_duration_s=60, keep_unknown_duration=False, keep_past_live_streams=True)
    kept = {video.video_id for video in build.videos}
    assert {"Tiny00000011", "Past00000014"} <= kept
    assert "Unkn00000016" not in kept
    assert {r.video_id: r.rule for r in build.ledger}["Unkn00000016"] is DropRule.UNKNOWN_DURATION
    with pytest.raises(ValueError, match="must be below"):
        CatalogFilters(min_duration_s=600, max_duration_s=60)
    with pytest.raises(ValueError, match="extra"):
        CatalogFilters(min_seconds=1)  # type: ignore[call-arg]


def test_max_videos_per_channel_caps_each_listing() -> None:
    build = _build(max_videos_per_channel=1)
    assert {video.video_id for video in build.videos} == {"Recital00001", "Dupl00000017"}


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Bach: Italian Concerto, BWV 971", None),
        ("Beethoven: Sonata No. 1 – III. Menuetto e Trio", None),
        ("Bach: Goldberg Variations – Aria", None),
        ("Alkan: Symphony for solo piano, Op. 39", None),
        ("Liszt: Rigoletto Paraphrase", None),
        ("Mozart: Piano Concerto No. 23", ("ensemble", "concerto")),
        ("Franck: Sonata for Violin and Piano", ("ensemble", "violin")),
        ("Ravel: Piano Trio in A minor", ("ensemble", "trio")),
        ("Schubert Lieder with tenor", ("vocal", "lieder")),
        ("Pianist interview before the final", ("talk", "interview")),
        ("Liszt transcription – interview with the pianist", ("talk", "interview")),
        ("Chopin Masterclass: Ballade No. 4", ("masterclass", "masterclass")),
        ("ÉTUDE in C major – Chopin", None),
    ],
)
def test_non_piano_titles(title: str, expected: tuple[str, str] | None) -> None:
    assert non_piano_match(title) == expected


def test_recording_keys_are_stable_safe_and_case_distinct() -> None:
    key = recording_key("dQw4w9WgXcQ")
    assert key == recording_key("dQw4w9WgXcQ")
    assert validate_key(key) == key and key.startswith("yt-dqw4w9wgxcq-")
    assert recording_key("dQw4w9WgXcQ") != recording_key("dqw4w9wgxcq")
    long_key = recording_key("x" * 500 + "/../Weird Id")
    assert validate_key(long_key) == long_key and len(long_key) <= 128
    with pytest.raises(CatalogError):
        recording_key("")


def test_ten_thousand_keys_are_unique_and_chunk_for_sqlite() -> None:
    keys = [recording_key(f"vid{n:08d}") for n in range(10_000)]
    assert len(set(keys)) == 10_000
    chunks = list(chunked(keys, 4_000))
    assert [len(c) for c in chunks] == [4_000, 4_000, 2_000]
    assert [k for c in chunks for k in c] == keys
    with pytest.raises(CatalogError):
        list(chunked(keys, 0))


def test_stale_keys_are_reported_not_dropped() -> None:
    old = recording_key("Gone00000099")
    build = build_catalog(
        [ChannelListingResult(channel=A, entries=LISTING_A[:1])], previous_keys=[old]
    )
    assert build.stale == [old]


def test_catalog_round_trips_and_bad_lines_name_the_file(tmp_path: Path) -> None:
    build = _build()
    path = tmp_path / "catalog.jsonl"
    write_catalog(path, build.videos)
    assert read_catalog(path) == build.videos
    assert read_catalog(tmp_path / "none.jsonl") == []
    path.write_text(path.read_text() + '{"recording_id": 1}\n')
    with pytest.raises(CatalogError, match=r"catalog.jsonl:8"):
        read_catalog(path)


def test_ledger_table_and_markdown() -> None:
    build = _build()
    frame = build.ledger_frame()
    assert frame.height == len(build.ledger)
    assert set(frame["rule"].to_list()) >= {"short", "non_piano", "duplicate"}
    markdown = build.ledger_markdown(limit=3)
    assert "| non_piano | 5 |" in markdown and "more rows" in markdown


def _feed_channel(key: str, url: str) -> Channel:
    return Channel(
        key=key,
        name=key,
        url=url,
        listing="feed",
        verified=False,
        category="other",
        why="test",
        content="test",
        licence="test",
    )


def test_a_failing_channel_is_reported_and_the_others_go_on(tmp_path: Path) -> None:
    with LoopbackServer(tmp_path / "www") as server:
        feed = rss_feed("B", [("vid-b1", "Chopin: Nocturnes", server.url("b1.wav"), 1_700_000_000)])
        (server.root / "b.rss").write_text(feed, encoding="utf-8")
        server.behaviour.content_types["/b.rss"] = "application/rss+xml"
        server.behaviour.statuses["/a.rss"] = [429] * 8
        channels = [
            _feed_channel("feed-a", server.url("a.rss")),
            _feed_channel("feed-b", server.url("b.rss")),
        ]
        results = list_channels(YtDlpClient(retries=0), channels)
    build = build_catalog(results, CatalogFilters(keep_unknown_duration=True))
    assert build.channel_failures["feed-a"].kind is FailureKind.RETRY_LATER
    assert [(v.channel_key, v.video_id) for v in build.videos] == [("feed-b", "vid-b1")]
    assert any("could not be listed" in p for p in verify_channels(results))


def test_verify_channels_says_what_to_correct() -> None:
    observed = "UC" + "a" * 22
    wrong = A.model_copy(update={"channel_id": "UC" + "b" * 22})
    results = [
        ChannelListingResult(channel=A, entries=[], observed_channel_ids=[observed]),
        ChannelListingResult(channel=wrong, entries=[], observed_channel_ids=[observed]),
        ChannelListingResult(channel=B, entries=[], observed_channel_ids=[]),
    ]
    problems = verify_channels(results)
    assert problems[0] == (
        f"hall-a: set channel_id: {observed} and verified: true "
        "(listed from https://www.youtube.com/@halla)"
    )
    assert "differs" in problems[1]
    assert "reports no channel id" in problems[2]
