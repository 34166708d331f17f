"""What the tier's asset checks verify, as plain functions over the files. Dagster-free."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from piano_assets.chopin2021.catalog import LedgerItem, read_catalog
from piano_assets.chopin2021.matching import MatchStatus
from piano_assets.chopin2021.paths import Chopin2021Paths
from piano_assets.chopin2021.records import ResultRecord, SegmentRecord
from piano_assets.chopin2021.results import (
    PLACEMENT_ORDER,
    PLACEMENT_ORDINAL,
    Round,
    load_curated,
    placement_for,
)
from piano_assets.engine.files import UnsafeNameError, validate_key
from piano_assets.lib.jsonl import JsonlError, read_jsonl

_SHOWN = 20


@dataclass
class Verdict:
    passed: bool
    description: str
    metadata: dict[str, Any] = field(default_factory=dict)


def _listing(problems: Iterable[str]) -> str:
    items = list(problems)
    shown = "; ".join(items[:_SHOWN])
    return shown + (f"; … and {len(items) - _SHOWN} more" if len(items) > _SHOWN else "")


def _read(path: Any, model: type) -> tuple[list[Any], str | None]:
    try:
        return read_jsonl(path, model), None
    except JsonlError as err:
        return [], str(err)


# -- results -----------------------------------------------------------------------------------


def prize_list_is_official(rows: list[ResultRecord]) -> Verdict:
    """The laureates and their prizes are exactly the published 2021 list (shared prizes too),
    and the finalists are the twelve published ones."""
    curated = load_curated().results()

    def published_name(name: str) -> str:
        known = curated.find(name)  # the site may spell a name another way
        return known.name if known else name

    def ranked(pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
        return sorted(
            pairs, key=lambda pair: (-placement_for(Round.FINAL, pair[0]).ordinal, pair[1])
        )

    expected = ranked(curated.prize_list())
    actual = ranked((r.prize, published_name(r.performer)) for r in rows if r.prize is not None)
    finalists = {published_name(r.performer) for r in rows if r.furthest_round is Round.FINAL}
    expected_finalists = {p.name for p in curated.performers if p.furthest_round is Round.FINAL}
    missing = [f"{p} – {n}" for p, n in expected if (p, n) not in actual]
    extra = [f"{p} – {n}" for p, n in actual if (p, n) not in expected]
    wrong_finalists = sorted(finalists ^ expected_finalists)
    metadata = {"prizes": [f"{p} – {n}" for p, n in actual], "finalists": sorted(finalists)}
    if not missing and not extra and not wrong_finalists:
        return Verdict(
            True,
            f"{len(actual)} prizes exactly as announced (2nd and 4th shared); "
            f"{len(finalists)} finalists, {len(finalists) - len(actual)} without a prize",
            metadata,
        )
    return Verdict(
        False,
        f"differs from the published 2021 results: missing [{_listing(missing)}], "
        f"unexpected [{_listing(extra)}], finalists differing [{_listing(wrong_finalists)}]",
        metadata,
    )


def ordinal_order_holds(rows: list[ResultRecord]) -> Verdict:
    """Each row's placement and ordinal follow from its round and prize, and the encoding ranks
    1st > 2nd > … > 6th > finalist > stage III > stage II > stage I > preliminary."""
    problems = []
    values = [PLACEMENT_ORDINAL[p] for p in PLACEMENT_ORDER]
    if values != sorted(values, reverse=True) or len(set(values)) != len(values):
        problems.append(f"the encoding is not strictly decreasing: {values}")
    for row in rows:
        placement = placement_for(row.furthest_round, row.prize)
        if row.placement is not placement:
            problems.append(f"{row.performer}: placement {row.placement} but expected {placement}")
        if row.ordinal != PLACEMENT_ORDINAL[row.placement]:
            problems.append(f"{row.performer}: ordinal {row.ordinal} for {row.placement}")
        if row.laureate != (row.prize is not None):
            problems.append(f"{row.performer}: laureate={row.laureate} with prize {row.prize!r}")
    if problems:
        return Verdict(False, f"{len(problems)} problems: {_listing(problems)}")
    return Verdict(True, f"{len(rows)} performers; placements and ordinals consistent")


def results_rows(paths: Chopin2021Paths) -> tuple[list[ResultRecord], str | None]:
    return _read(paths.resolved_results, ResultRecord)


def site_agrees_with_curated(paths: Chopin2021Paths) -> Verdict:
    if not paths.cross_check.exists():
        return Verdict(False, f"{paths.cross_check} is missing: materialize chopin2021_results")
    report = json.loads(paths.cross_check.read_text(encoding="utf-8"))
    if report.get("site_problem"):
        return Verdict(
            False,
            f"the official site ({report['base_url']}) could not be used, so the curated file "
            f"stood in: {report['site_problem']}",
        )
    check = report.get("cross_check") or {}
    disagreements = check.get("disagreements", [])
    if disagreements:
        lines = [
            f"{d['performer']} {d['field']}: site {d['site']!r}, curated {d['curated']!r}"
            for d in disagreements
        ]
        return Verdict(
            False,
            f"{len(disagreements)} disagreements between the site and the curated file: "
            + _listing(lines),
            {"disagreements": disagreements},
        )
    return Verdict(
        True,
        f"site and curated file agree on {check.get('compared', 0)} performers "
        f"({len(check.get('only_on_site', []))} only on the site, "
        f"{len(check.get('only_curated', []))} only curated)",
    )


# -- catalog -----------------------------------------------------------------------------------


def catalog_keys_are_safe_and_registered(paths: Chopin2021Paths, registered: set[str]) -> Verdict:
    try:
        specs = read_catalog(paths.catalog)
    except ValueError as err:
        return Verdict(False, str(err))
    problems = []
    keys = [spec.recording_id for spec in specs]
    for key in keys:
        try:
            validate_key(key)
        except UnsafeNameError as err:
            problems.append(str(err))
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    if duplicates:
        problems.append(f"duplicate keys {duplicates}")
    listed = [s.video_id for s in specs if not s.stale]
    twice = sorted({v for v in listed if listed.count(v) > 1})
    if twice:
        problems.append(f"videos keyed twice {twice}")
    unregistered = sorted(set(keys) - registered)
    if unregistered:
        problems.append(f"not registered as partitions: {unregistered}")
    if problems:
        return Verdict(False, _listing(problems))
    return Verdict(
        True,
        f"{len(keys)} recordings, keys safe and unique, all registered "
        f"({sum(1 for s in specs if s.stale)} stale kept)",
    )


def no_ambiguous_videos(paths: Chopin2021Paths) -> Verdict:
    try:
        ledger = read_jsonl(paths.video_ledger, LedgerItem)
    except JsonlError as err:
        return Verdict(False, str(err))
    ambiguous = [item for item in ledger if item.status is MatchStatus.AMBIGUOUS]
    counts: dict[str, int] = {}
    for item in ledger:
        counts[item.status.value] = counts.get(item.status.value, 0) + 1
    if ambiguous:
        return Verdict(
            False,
            f"{len(ambiguous)} videos need a human decision: "
            + _listing(f"{i.title!r}: {i.reason}" for i in ambiguous),
            {"ledger": counts},
        )
    return Verdict(True, f"ledger: {counts or 'empty'}; nothing ambiguous", {"ledger": counts})


# -- metadata ----------------------------------------------------------------------------------


def metadata_schema_holds(paths: Chopin2021Paths) -> Verdict:
    segments, segment_error = _read(paths.metadata, SegmentRecord)
    results, results_error = _read(paths.results, ResultRecord)
    problems = [e for e in (segment_error, results_error) if e]
    ids = [s.segment_id for s in segments]
    if len(set(ids)) != len(ids):
        problems.append("segment_id is not unique")
    problems += [
        f"{s.segment_id}: end {s.segment_end} <= start {s.segment_start}"
        for s in segments
        if s.segment_end <= s.segment_start
    ]
    names = [r.performer for r in results]
    if len(set(names)) != len(names):
        problems.append("results.jsonl lists a performer twice")
    if problems:
        return Verdict(False, _listing(problems))
    return Verdict(
        True,
        f"metadata.jsonl: {len(segments)} segments, results.jsonl: {len(results)} performers",
    )


def placements_agree_with_results(paths: Chopin2021Paths) -> Verdict:
    segments, segment_error = _read(paths.metadata, SegmentRecord)
    results, results_error = _read(paths.results, ResultRecord)
    if segment_error or results_error:
        return Verdict(False, segment_error or results_error or "")
    by_performer = {r.performer: r for r in results}
    problems: dict[str, str] = {}
    for segment in segments:
        row = by_performer.get(segment.performer)
        if row is None:
            problems[segment.recording_id] = f"{segment.performer} is not in results.jsonl"
            continue
        got = (segment.placement, segment.ordinal, segment.prize)
        want = (row.placement, row.ordinal, row.prize)
        if got != want:
            problems[segment.recording_id] = f"{segment.performer}: {got} but results say {want}"
        elif segment.ordinal != PLACEMENT_ORDINAL[segment.placement]:
            problems[segment.recording_id] = f"ordinal {segment.ordinal} for {segment.placement}"
        elif segment.round.order > row.furthest_round.order:
            problems[segment.recording_id] = (
                f"{segment.round.value} recording, furthest round {row.furthest_round.value}"
            )
    if problems:
        return Verdict(
            False,
            f"{len(problems)} recordings disagree with results.jsonl: "
            + _listing(f"{k}: {v}" for k, v in problems.items()),
        )
    return Verdict(
        True,
        f"{len(segments)} segments of {len({s.recording_id for s in segments})} recordings agree "
        "with results.jsonl",
    )
