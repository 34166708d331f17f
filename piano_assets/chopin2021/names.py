"""Name normalization shared by results parsing, title matching and recording keys. Dagster-free.

Performer names arrive spelled many ways: with or without diacritics ("Martín García García" /
"Martin Garcia Garcia"), in capitals, surname first ("KUSZLIK Jakub"), with a name in
parentheses ("Bruce (Xiaoyu) Liu"), with spaced initials ("J J Jun Li Bui" / "JJ Jun Li Bui").
Everything here reduces a name to lower-case ASCII tokens so those spellings compare equal.
"""

from __future__ import annotations

import re
import unicodedata

# Letters that NFKD does not decompose into ASCII.
_TRANSLITERATE = str.maketrans(
    {
        "ł": "l",
        "Ł": "l",
        "ø": "o",
        "Ø": "o",
        "đ": "d",
        "Đ": "d",
        "ð": "d",
        "Ð": "d",
        "þ": "th",
        "Þ": "th",
        "ß": "ss",
        "æ": "ae",
        "Æ": "ae",
        "œ": "oe",
        "Œ": "oe",
        "ı": "i",
    }
)
_HONORIFICS = frozenset({"mr", "ms", "mrs", "miss", "mx", "dr", "prof", "pan", "pani"})
_TOKEN = re.compile(r"[a-z0-9]+")
_PARENTHESISED = re.compile(r"\(([^()]*)\)")


# Never part of a name: bidirectional embeddings, overrides and isolates (text spoofing), BOM.
_INVISIBLE_CONTROLS = frozenset(
    "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff"
)


def _is_control(char: str) -> bool:
    return char in _INVISIBLE_CONTROLS or (
        unicodedata.category(char) == "Cc" and not char.isspace()
    )


def clean_text(text: str) -> str:
    """Text from a page as a person reads it: NUL, other control characters and invisible
    direction marks removed, runs of whitespace (tabs, newlines) made one space, trimmed.
    Zero-width joiners stay: some scripts need them inside names."""
    kept = "".join(char for char in text if not _is_control(char))
    return " ".join(kept.split())


def fold(text: str) -> str:
    """Lower-case ASCII: diacritics removed, other letters transliterated, the rest dropped."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_TRANSLITERATE))
    ascii_only = decomposed.encode("ascii", "ignore").decode("ascii")
    return ascii_only.lower()


def _merge_initials(tokens: list[str]) -> list[str]:
    """'j j jun li bui' -> 'jj jun li bui': runs of single letters are one token."""
    merged: list[str] = []
    run = ""
    for token in tokens:
        if len(token) == 1 and token.isalpha():
            run += token
            continue
        if run:
            merged.append(run)
            run = ""
        merged.append(token)
    if run:
        merged.append(run)
    return merged


def name_tokens(text: str) -> list[str]:
    """Folded word tokens of a name or title, initials merged, honorifics dropped."""
    tokens = _TOKEN.findall(fold(text))
    return [token for token in _merge_initials(tokens) if token not in _HONORIFICS]


def name_variants(name: str) -> list[tuple[str, ...]]:
    """Token sequences a name may appear as in a title.

    "Bruce (Xiaoyu) Liu" gives ("bruce", "xiaoyu", "liu"), ("bruce", "liu") and
    ("xiaoyu", "liu"): the full form, without the parenthesised part, and with it in place of
    the given name.
    """
    variants: list[tuple[str, ...]] = [tuple(name_tokens(name))]
    inner = _PARENTHESISED.findall(name)
    if inner:
        outer = _PARENTHESISED.sub(" ", name)
        variants.append(tuple(name_tokens(outer)))
        outer_tokens = name_tokens(outer)
        for alternative in inner:
            alt_tokens = name_tokens(alternative)
            if alt_tokens and len(outer_tokens) >= 2:
                # The parenthesised part replaces the given name(s): "Xiaoyu Liu".
                variants.append((*alt_tokens, outer_tokens[-1]))
    unique: list[tuple[str, ...]] = []
    for variant in variants:
        if variant and variant not in unique:
            unique.append(variant)
    return unique


def name_key(name: str) -> str:
    """Order-free identity of a name: "KUSZLIK Jakub" and "Jakub Kuszlik" share one key."""
    return " ".join(sorted(name_tokens(name)))


def strip_honorific(name: str) -> str:
    """'Mr Bruce (Xiaoyu) Liu' -> 'Bruce (Xiaoyu) Liu' (as published, minus the title)."""
    return re.sub(r"^\s*(?:Mr|Ms|Mrs|Miss|Mx)\.?\s+", "", name).strip()


def surname_first_slug(name: str) -> str:
    """ASCII slug, family name first: 'Bruce (Xiaoyu) Liu' -> 'liu-bruce-xiaoyu'.

    The published lists give the family name last; it is moved to the front so keys sort by
    family name. Names with no Latin letters give '' (callers fall back to a hash).
    """
    tokens = name_tokens(name)
    if not tokens:
        return ""
    return "-".join([tokens[-1], *tokens[:-1]])
