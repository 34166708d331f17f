"""T4 channels: the shipped list, its validation, and the model repo's add/remove file."""

from __future__ import annotations

from pathlib import Path

import pytest

from piano_assets.youtube_piano.channels import (
    ChannelsError,
    channel_listing_url,
    effective_channels,
    load_curated_channels,
    parse_channel_list,
)

ENTRY = """
  - key: {key}
    name: A Hall
    url: {url}
    channel_id: {channel_id}
    verified: false
    category: concert_hall
    why: recitals
    content: solo recitals
    licence: standard YouTube licence
"""


def _list(*entries: str) -> str:
    return "version: 3\nchannels:\n" + "".join(entries)


def _entry(
    key: str = "a-hall", url: str = "https://www.youtube.com/@ahall", channel_id: str = "null"
) -> str:
    return ENTRY.format(key=key, url=url, channel_id=channel_id)


def test_the_shipped_list_is_valid_curated_and_honest_about_what_is_unconfirmed() -> None:
    curated = load_curated_channels()
    assert 20 <= len(curated.channels) <= 30
    assert len({c.key for c in curated.channels}) == len(curated.channels)
    for channel in curated.channels:
        assert channel.why and channel.content and channel.licence
        # Nothing could be confirmed offline: an id is only ever filled in with verified: true.
        assert channel.verified == (channel.channel_id is not None)
    assert (
        channel_listing_url(curated.channels[0])
        == "https://www.youtube.com/@chopininstitute/videos"
    )


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://www.youtube.com/watch?v=dQw4w9WgXcQ", "does not name a channel"),
        ("https://www.youtube.com/playlist?list=PL123", "does not name a channel"),
        ("https://www.youtube.com/shorts/dQw4w9WgXcQ", "does not name a channel"),
        ("https://youtu.be/dQw4w9WgXcQ", "not a YouTube channel URL"),
        ("https://vimeo.com/someone", "not a YouTube channel URL"),
        ("http://www.youtube.com/@ahall", "not a YouTube channel URL"),
        ("https://www.youtube.com/channel/UCshort", "does not name a channel"),
    ],
)
def test_non_channel_urls_are_refused(url: str, message: str) -> None:
    with pytest.raises(ChannelsError, match=message) as caught:
        parse_channel_list(_list(_entry(url=url)), "test.yaml")
    assert "channels.0 (a-hall)" in str(caught.value) and "test.yaml" in str(caught.value)


def test_channel_urls_of_every_form_are_accepted() -> None:
    for url in (
        "https://www.youtube.com/@A.Hall-1/videos",
        "https://youtube.com/channel/UCabcdefghijklmnopqrstuv",
        "https://m.youtube.com/c/AHall",
        "https://www.youtube.com/user/ahall",
    ):
        parse_channel_list(_list(_entry(url=url)), "test.yaml")


@pytest.mark.parametrize(
    ("second", "message"),
    [
        (_entry(url="https://www.youtube.com/@other"), "duplicate key 'a-hall'"),
        (_entry(key="b-hall", url="https://www.youtube.com/@AHALL/videos"), "duplicate url"),
    ],
)
def test_duplicates_are_refused(second: str, message: str) -> None:
    with pytest.raises(ChannelsError, match=message):
        parse_channel_list(_list(_entry(), second), "test.yaml")


def test_duplicate_channel_ids_are_refused() -> None:
    first = _entry(channel_id="UCabcdefghijklmnopqrstuv")
    second = _entry(
        key="b", url="https://www.youtube.com/@bhall", channel_id="UCabcdefghijklmnopqrstuv"
    )
    with pytest.raises(ChannelsError, match="duplicate channel id"):
        parse_channel_list(_list(first, second), "test.yaml")


def test_unknown_fields_bad_ids_and_bad_yaml_are_named() -> None:
    with pytest.raises(ChannelsError, match=r"channels.0 \(a-hall\).subscribers: unknown field"):
        parse_channel_list(_list(_entry() + "    subscribers: 10\n"), "test.yaml")
    with pytest.raises(ChannelsError, match="not a YouTube channel id"):
        parse_channel_list(_list(_entry(channel_id="UC123")), "test.yaml")
    with pytest.raises(ChannelsError, match="unsafe key"):
        parse_channel_list(_list(_entry(key="A Hall")), "test.yaml")
    with pytest.raises(ChannelsError, match="verified: true needs"):
        parse_channel_list(_list(_entry().replace("verified: false", "verified: true")), "t.yaml")
    with pytest.raises(ChannelsError, match="not valid YAML"):
        parse_channel_list("channels: [", "test.yaml")
    with pytest.raises(ChannelsError, match="unknown field"):
        parse_channel_list(_list(_entry()) + "owner: me\n", "test.yaml")


def test_a_feed_listing_accepts_local_feeds_only_as_feeds() -> None:
    feed = _entry(url="file:///tmp/world/channel-a.rss") + "    listing: feed\n"
    parsed = parse_channel_list(_list(feed), "t.yaml")
    assert channel_listing_url(parsed.channels[0]) == "file:///tmp/world/channel-a.rss"
    with pytest.raises(ChannelsError, match="not a YouTube channel URL"):
        parse_channel_list(_list(_entry(url="file:///tmp/world/channel-a.rss")), "t.yaml")


def test_the_model_repo_adds_and_removes_channels(tmp_path: Path) -> None:
    overrides = tmp_path / "channels.yaml"
    overrides.write_text(
        "add:"
        + _entry(key="my-hall", url="https://www.youtube.com/@myhall")
        + "remove:\n  - medici-tv\n"
    )
    effective = effective_channels(overrides)
    keys = [channel.key for channel in effective.channels]
    assert "medici-tv" not in keys and keys[-1] == "my-hall"
    assert effective.added == ["my-hall"] and effective.removed == ["medici-tv"]
    assert effective.version.startswith("1+") and len(effective.version) == 14
    assert effective_channels(tmp_path / "absent.yaml").version == "1"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("remove:\n  - no-such-channel\n", "remove names unknown channels"),
        (
            "add:" + _entry(key="dup", url="https://www.youtube.com/@chopininstitute"),
            "duplicate url",
        ),
        (
            "add:" + _entry(key="cliburn", url="https://www.youtube.com/@x1x"),
            "duplicate key 'cliburn'",
        ),
        ("add:" + _entry(url="https://www.youtube.com/watch?v=x"), "does not name a channel"),
        ("drop:\n  - cliburn\n", "drop: unknown field"),
        ("remove:\n  - cliburn\n  - cliburn\n", "names a channel twice"),
    ],
)
def test_overrides_are_validated_like_the_shipped_list(
    tmp_path: Path, text: str, message: str
) -> None:
    overrides = tmp_path / "channels.yaml"
    overrides.write_text(text)
    with pytest.raises(ChannelsError, match=message) as caught:
        effective_channels(overrides)
    assert str(overrides) in str(caught.value)
