"""What real YouTube needs, checked without a network: the JS runtime, EJS, pacing, cookies,
PO tokens. yt-dlp reports what it found itself (its verbose header), and deno really runs.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from piano_assets.resources import YtDlpResource
from piano_assets.settings import PianoAssetsSettings
from piano_assets.sources.errors import DownloadError
from piano_assets.sources.ytdlp import (
    YOUTUBE_PACING,
    Pacing,
    YtDlpClient,
    find_deno,
    parse_extractor_args,
    youtube_runtime_problems,
)

YOUTUBE_VIDEO = "https://www.youtube.com/watch?v=XXXXXXXXXXX"
YOUTUBE_CHANNEL = "https://www.youtube.com/@chopininstitute/videos"
VENV_BIN = Path(sys.executable).parent


def _deno_version(path: Path) -> str:
    out = subprocess.run([str(path), "--version"], capture_output=True, text=True, check=True)
    return out.stdout.split()[1]  # "deno 2.9.8 (stable, ...)"


def test_the_deno_binary_ships_in_the_venv_and_runs_offline() -> None:
    deno = find_deno()
    assert deno is not None and deno.is_file() and os.access(deno, os.X_OK)
    run = subprocess.run(
        [str(deno), "eval", "--no-remote", "console.log(6 * 7)"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert run.stdout.strip() == "42"


def test_yt_dlp_finds_the_js_runtime_and_ejs_for_youtube() -> None:
    client = YtDlpClient()
    report = client.runtime_report(YOUTUBE_VIDEO)
    deno = find_deno()
    assert deno is not None
    # yt-dlp's own detection (its verbose header), with the client's options for YouTube.
    assert report.js_runtimes == f"deno-{_deno_version(deno)}"
    assert "yt_dlp_ejs-" in report.optional_libraries
    assert report.problems == []
    assert youtube_runtime_problems() == []


def test_the_runtime_is_found_without_the_venv_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # a worker started without activating the venv
    deno = find_deno()
    assert deno is not None and deno.parent == VENV_BIN
    params = YtDlpClient().options_for(YOUTUBE_VIDEO)
    assert params["js_runtimes"] == {"deno": {"path": str(deno)}}


def test_an_explicit_runtime_path_wins_and_a_wrong_one_is_reported(tmp_path: Path) -> None:
    missing = tmp_path / "no-deno"
    client = YtDlpClient(js_runtime_path=missing)
    report = client.runtime_report(YOUTUBE_VIDEO)
    assert report.js_runtimes == "none"
    assert any(str(missing) in problem for problem in report.problems)


def test_youtube_urls_are_paced_and_others_are_not(tmp_path: Path) -> None:
    client = YtDlpClient(allow_file_urls=True)
    youtube = client.options_for(YOUTUBE_VIDEO)
    assert youtube["sleep_interval"] == YOUTUBE_PACING.sleep_interval_s
    assert youtube["max_sleep_interval"] == YOUTUBE_PACING.max_sleep_interval_s
    assert youtube["sleep_interval_requests"] == YOUTUBE_PACING.sleep_requests_s
    local = client.options_for((tmp_path / "a.wav").as_uri())
    assert "sleep_interval" not in local and "js_runtimes" not in local
    explicit = YtDlpClient(pacing=Pacing(sleep_interval_s=0)).options_for(YOUTUBE_CHANNEL)
    assert "sleep_interval" not in explicit  # 0 turns pacing off


def test_cookies_and_po_token_provider_reach_yt_dlp(tmp_path: Path) -> None:
    cookies = tmp_path / "cookies.txt"
    cookies.write_text("# Netscape HTTP Cookie File\n", encoding="utf-8")
    client = YtDlpClient(
        cookies_file=cookies,
        po_token_provider_url="http://127.0.0.1:4416",  # noqa: S106 - a URL, not a token
        extractor_args=parse_extractor_args(["youtube:player_client=web,mweb;skip=dash"]),
    )
    params = client.options_for(YOUTUBE_VIDEO)
    assert params["cookiefile"] == str(cookies)
    assert params["extractor_args"] == {
        "youtube": {"player_client": ["web", "mweb"], "skip": ["dash"]},
        "youtubepot-bgutilhttp": {"base_url": ["http://127.0.0.1:4416"]},
    }
    with pytest.raises(DownloadError, match=r"cookies file .*missing\.txt does not exist"):
        YtDlpClient(cookies_file=tmp_path / "missing.txt").options_for(YOUTUBE_VIDEO)
    with pytest.raises(ValueError, match="IE_KEY:ARG=VALUE"):
        parse_extractor_args(["po_token=web.gvs+abc"])


def test_settings_and_resource_expose_every_youtube_knob(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cookies = tmp_path / "cookies.txt"
    cookies.write_text("# Netscape HTTP Cookie File\n", encoding="utf-8")
    monkeypatch.setenv("PIANO_ASSETS_YTDLP_SLEEP_INTERVAL_S", "7")
    monkeypatch.setenv("PIANO_ASSETS_YTDLP_MAX_SLEEP_INTERVAL_S", "12")
    monkeypatch.setenv("PIANO_ASSETS_YTDLP_SLEEP_REQUESTS_S", "1.5")
    monkeypatch.setenv("PIANO_ASSETS_YTDLP_COOKIES_FILE", str(cookies))
    monkeypatch.setenv("PIANO_ASSETS_YTDLP_PO_TOKEN_PROVIDER_URL", "http://127.0.0.1:4416")
    monkeypatch.setenv("PIANO_ASSETS_YTDLP_EXTRACTOR_ARGS", '["youtube:player_client=web"]')
    monkeypatch.setenv("PIANO_ASSETS_YTDLP_JS_RUNTIME_PATH", str(find_deno()))
    settings = PianoAssetsSettings()
    assert settings.ytdlp_sleep_interval_s == 7
    resource = YtDlpResource(
        sleep_interval_s=settings.ytdlp_sleep_interval_s,
        max_sleep_interval_s=settings.ytdlp_max_sleep_interval_s,
        sleep_requests_s=settings.ytdlp_sleep_requests_s,
        cookies_file=str(settings.ytdlp_cookies_file),
        po_token_provider_url=settings.ytdlp_po_token_provider_url,
        extractor_args=settings.ytdlp_extractor_args,
        js_runtime_path=str(settings.ytdlp_js_runtime_path),
    )
    params = resource.client().options_for(YOUTUBE_VIDEO)
    assert (params["sleep_interval"], params["max_sleep_interval"]) == (7, 12)
    assert params["sleep_interval_requests"] == 1.5
    assert params["cookiefile"] == str(cookies)
    assert params["extractor_args"]["youtube"] == {"player_client": ["web"]}
    assert params["js_runtimes"] == {"deno": {"path": str(find_deno())}}


def test_a_youtube_url_without_a_runtime_warns_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    client = YtDlpClient(js_runtime_path=tmp_path / "no-deno", logger=logging.getLogger("t"))
    with caplog.at_level(logging.WARNING, logger="t"):
        client.options_for(YOUTUBE_VIDEO)
        client.options_for(YOUTUBE_CHANNEL)
    warnings = [r.message for r in caplog.records if "YouTube downloads will fail" in r.message]
    assert len(warnings) == 1 and "no-deno" in warnings[0]
