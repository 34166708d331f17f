"""The README says what each kind of bad input gets, in the words the code uses, and documents
every YouTube setting and YouTube's per-session limit."""

from __future__ import annotations

import re
from pathlib import Path

from piano_assets.settings import PianoAssetsSettings

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
# The code with adjacent string literals joined, as Python joins them.
SOURCE = re.sub(
    r'"\s*\n\s*f?"',
    "",
    "\n".join(
        path.read_text(encoding="utf-8") for path in sorted((ROOT / "piano_assets").rglob("*.py"))
    ),
)


def _section(heading: str) -> str:
    start = README.index(f"## {heading}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end != -1 else None]


# Phrases of real messages and metadata keys: each must be in the README's table and in the code.
QUOTED = (
    "refused_links",
    "site_problem",
    "derivation_unresolved",
    "video unavailable",
    "is not audio: ",
    "the server sent",
    "the file holds",
    "the file system refused an operation on",
    "The step stopped there; nothing was lost, and a re-run resumes once this is fixed",
    "does not exist (setting PIANO_ASSETS_YTDLP_COOKIES_FILE)",
)


def test_the_readme_says_what_bad_input_gets_in_the_codes_words() -> None:
    table = _section("What bad input gets")
    for phrase in QUOTED:
        assert phrase in table, f"README table lacks {phrase!r}"
        assert phrase in SOURCE, f"{phrase!r} is quoted in the README but not in the code"
    assert "exit status 2" in table and "exits 1" in table


def test_the_readme_documents_youtube_limits_and_every_ytdlp_setting() -> None:
    youtube = _section("Real YouTube")
    assert "about 300 videos an hour" in youtube
    fields = [name for name in PianoAssetsSettings.model_fields if name.startswith("ytdlp_")]
    assert len(fields) >= 7
    for name in fields:
        assert f"PIANO_ASSETS_{name.upper()}" in youtube, name
    assert "yt-dlp[default,deno]" in youtube and "runtime_report" in youtube
