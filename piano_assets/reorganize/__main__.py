"""`python -m piano_assets.reorganize`: the reorganization without Dagster.

    plan      what every step would move and delete (touches nothing)
    apply     run the five steps in order (safe to re-run; finishes an interrupted run)
    verify    the target layout and no-data-lost accounting; exit 1 on any FAIL or missing file
    purge     delete the trash for good (needs --yes)
    restore   undo the reorganization: trashed files back, duplicate copies gone

Exit status: 0 done (verify: everything holds), 1 a step failed (verify: FAIL or MISSING),
2 wrong usage (an unknown command, a root that does not exist).

The model repo is `--root`, else the configured one (PIANO_ASSETS_ROOT, else the sample).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from piano_assets.layout import ModelRepoLayout
from piano_assets.reorganize.errors import ReorganizeError
from piano_assets.reorganize.ledger import LedgerError
from piano_assets.reorganize.ops import run_all
from piano_assets.reorganize.plan import format_bytes
from piano_assets.reorganize.records import Step, StepOutcome
from piano_assets.reorganize.trash import purge_trash, restore_trash
from piano_assets.reorganize.verify import Location, account_for_inventory, layout_findings
from piano_assets.settings import SettingsError, load_settings, validate_root


def _layout(root: str | None) -> ModelRepoLayout:
    path = validate_root(Path(root).expanduser()) if root else load_settings().model_repo_root()
    return ModelRepoLayout(path)


def _print_outcome(outcome: StepOutcome) -> None:
    plan = outcome.plan
    print(
        f"{outcome.step}: {len(plan.moves)} copies ({format_bytes(plan.move_bytes)}), "
        f"{len(plan.rewrites)} rewrites, {len(plan.deletions)} deletions "
        f"({format_bytes(plan.deletion_bytes)})"
        + ("" if outcome.dry_run else f"; copied {outcome.copied}, trashed {outcome.trashed}")
    )
    for move in plan.moves:
        print(f"    copy  {move.source} -> {move.destination} ({format_bytes(move.size)})")
    for rewrite in plan.rewrites:
        print(f"    edit  {rewrite.path}:{rewrite.line} {rewrite.old} -> {rewrite.new}")
    for deletion in plan.deletions:
        print(f"    trash {deletion.path} ({format_bytes(deletion.size)}): {deletion.reason}")
    for line in (*plan.blockers, *plan.notes):
        print(f"    note  {line}")


def _verify(layout: ModelRepoLayout) -> int:
    """Print every finding; 1 when any FAIL or missing file (kept folders absent: WARN)."""
    failed = 0
    for finding in layout_findings(layout):
        if finding.ok:
            mark = "ok  "
        elif finding.expected in ("kept", "observed"):
            mark = "WARN"  # never touched by the reorganization: not its verdict
        else:
            mark, failed = "FAIL", failed + 1
        print(f"{mark} [{finding.step}] {finding.path}: {finding.detail}")
    accounting = account_for_inventory(layout)
    for location, (files, size) in accounting.totals().items():
        print(f"{location}: {files} files, {format_bytes(size)}")
    for item in accounting.missing:
        print(f"MISSING {item.record.path} ({item.record.sha256[:12]})")
    missing = accounting.totals()[Location.MISSING][0]
    verdict = "FAIL" if failed or missing else "ok"
    print(f"verdict: {verdict} ({failed} failed findings, {missing} missing files)")
    return 1 if failed or missing else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m piano_assets.reorganize", description=__doc__)
    parser.add_argument("command", choices=("plan", "apply", "verify", "purge", "restore"))
    parser.add_argument("--root", help="model repo root (default: the configured one)")
    parser.add_argument("--step", action="append", choices=[s.value for s in Step], default=[])
    parser.add_argument("--yes", action="store_true", help="confirm purge (cannot be undone)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        layout = _layout(args.root)
    except SettingsError as err:
        parser.error(str(err))  # exits 2 with the usage line
    try:
        if args.command in ("plan", "apply"):
            for outcome in run_all(layout, dry_run=args.command == "plan"):
                _print_outcome(outcome)
            return 0
        if args.command == "verify":
            return _verify(layout)
        if args.command == "purge":
            purged = purge_trash(layout, steps=args.step or None, dry_run=not args.yes)
            verb = "purged" if args.yes else "would purge (add --yes)"
            print(f"{verb} {purged.files} files ({format_bytes(purged.bytes)})")
            return 0
        restored = restore_trash(layout, steps=args.step or None)
        print(
            f"restored {restored.files} files ({format_bytes(restored.bytes)}); removed "
            f"{restored.copies_removed} copies that duplicated a restored file"
        )
        return 0
    except (ReorganizeError, LedgerError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
