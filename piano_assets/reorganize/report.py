"""Markdown tables of plans and outcomes, for asset metadata and logs. Dagster-free."""

from __future__ import annotations

from collections import defaultdict
from pathlib import PurePosixPath

from piano_assets.reorganize.plan import format_bytes
from piano_assets.reorganize.records import StepOutcome, StepPlan

TRASH_DIR = ".piano_assets/trash"
# A plan longer than this is listed by folder only (the full list is in the saved plan file).
MAX_TABLE_ROWS = 5000


def md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def plan_table(plan: StepPlan) -> str:
    """One row per move, rewrite and deletion, with sizes."""
    rows = [
        f"| copy | `{md_cell(m.source)}` | `{md_cell(m.destination)}` | {format_bytes(m.size)} "
        f"| {md_cell(m.rule)} |"
        for m in plan.moves
    ]
    rows += [
        f"| rewrite | `{md_cell(r.path)}` line {r.line} | `{md_cell(r.old)}` → `{md_cell(r.new)}` "
        "| - | original bytes kept in the trash |"
        for r in plan.rewrites
    ]
    rows += [
        f"| trash | `{md_cell(d.path)}` | `{TRASH_DIR}/{plan.step}/…` | {format_bytes(d.size)} "
        f"| {md_cell(d.reason)}; "
        f"{md_cell(d.verified_by) or 'not verified yet'} |"
        for d in plan.deletions
    ]
    if not rows:
        return "Nothing to do."
    if len(rows) > MAX_TABLE_ROWS:
        return (
            f"{len(rows)} actions: too many to list here; see the table by folder and the "
            f"saved plan `.piano_assets/reorganize/plans/{plan.step}.json`."
        )
    header = "| action | path | to | size | why |\n|---|---|---|---:|---|\n"
    return header + "\n".join(rows)


def folder_table(plan: StepPlan) -> str:
    """Files and bytes per action and top folder (two levels below the area's root)."""
    totals: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for move in plan.moves:
        key = ("copy", str(PurePosixPath(move.source).parent))
        totals[key][0] += 1
        totals[key][1] += move.size
    for deletion in plan.deletions:
        key = ("trash", str(PurePosixPath(deletion.path).parent))
        totals[key][0] += 1
        totals[key][1] += deletion.size
    if not totals:
        return "Nothing to do."
    lines = ["| action | folder | files | size |", "|---|---|---:|---:|"]
    lines += [
        f"| {action} | `{md_cell(folder)}/` | {files} | {format_bytes(size)} |"
        for (action, folder), (files, size) in sorted(totals.items())
    ]
    return "\n".join(lines)


def bullet_list(items: tuple[str, ...] | list[str]) -> str:
    return "\n".join(f"- {md_cell(item)}" for item in items) if items else "None."


def outcome_summary(outcome: StepOutcome) -> dict[str, int | str | bool]:
    plan = outcome.plan
    return {
        "mode": "dry run: nothing was touched" if outcome.dry_run else "applied",
        "planned_copies": len(plan.moves),
        "planned_copy_size": format_bytes(plan.move_bytes),
        "planned_deletions": len(plan.deletions),
        "planned_deletion_size": format_bytes(plan.deletion_bytes),
        "rewrites": len(plan.rewrites),
        "copied": outcome.copied,
        "copied_size": format_bytes(outcome.copied_bytes),
        "already_in_place": outcome.already_in_place,
        "trashed": outcome.trashed,
        "trashed_size": format_bytes(outcome.trashed_bytes),
        "already_trashed": outcome.already_trashed,
        "rewritten": outcome.rewritten,
        "resumed_interrupted_run": outcome.resumed_interrupted_run,
    }
