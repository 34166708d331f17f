"""Does parsing a results page grow linearly with the page? Ratios measured in one run.

    .venv/bin/python benchmarks/bench_results_parsing.py [--small 2000] [--large 8000]

Five hostile page shapes, each at `--small` and `--large` items: an ordered list of
qualifiers, a line of "prize" words without a dash, a competitors index and a news index
(every link twice), a competitor page with one section per item. CPU time of this process,
best of three. Linear parsing gives a ratio near large/small; quadratic, its square.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from piano_assets.chopin2021.results import (
    parse_announcement,
    parse_competitor_index,
    parse_competitor_page,
    parse_news_index,
)


def _pages() -> dict[str, tuple[Callable[[int], str], Callable[[str], object]]]:
    def ordered(n: int) -> str:
        items = "".join(f"<li>Mr Name{i} Surname, Poland</li>" for i in range(n))
        return f"<main><p>They qualified to Stage II:</p><ol>{items}</ol></main>"

    def prize_words(n: int) -> str:
        return "<main><p>1st Prize – Mr Bruce Liu, Canada</p><p>" + "prize " * n + "</p></main>"

    def index(n: int) -> str:
        links = "".join(f'<li><a href="competitor/{i}/x">X</a></li>' for i in range(n))
        return f"<ul>{links}{links}</ul>"

    def news(n: int) -> str:
        links = "".join(f'<li><a href="article/{i}/results">Results</a></li>' for i in range(n))
        return f"<ul>{links}{links}</ul>"

    def sections(n: int) -> str:
        body = "".join(f"<h2>Stage I</h2><ul><li>Piece {i}</li></ul>" for i in range(n))
        return f"<h1>Mr A B</h1><p class='country'>Poland</p>{body}"

    return {
        "ordered list": (ordered, lambda h: parse_announcement(h, "u")),
        "'prize' words": (prize_words, lambda h: parse_announcement(h, "u")),
        "competitors index": (index, lambda h: parse_competitor_index(h, "https://x/en/c")),
        "news index": (news, lambda h: parse_news_index(h, "https://x/en/news")),
        "competitor sections": (sections, lambda h: parse_competitor_page(h, "u")),
    }


def _best(parse: Callable[[str], object], html: str) -> float:
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        parse(html)
        best = min(best, time.process_time() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", type=int, default=2_000)
    parser.add_argument("--large", type=int, default=8_000)
    args = parser.parse_args()
    print(f"| page | {args.small:,} items (s) | {args.large:,} items (s) | ratio |")
    print("|---|---|---|---|")
    for name, (make, parse) in _pages().items():
        small, large = make(args.small), make(args.large)
        parse(small)  # warm-up
        t_small, t_large = _best(parse, small), _best(parse, large)
        print(f"| {name} | {t_small:.3f} | {t_large:.3f} | {t_large / t_small:.1f} |")


if __name__ == "__main__":
    main()
