"""`piano-assets`: run the whole graph on the configured model repo (default: the sample)."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from piano_assets.engine.files import atomic_write_text
from piano_assets.settings import SettingsError, load_settings, settings_or_defaults

if TYPE_CHECKING:
    from dagster import DagsterInstance

    from piano_assets.runner import RunAllOutcome


def ensure_dagster_home() -> Path:
    """Use $DAGSTER_HOME, or a persistent one under `.piano_assets/` that `dagster dev` shares.

    Its `dagster.yaml` is rendered from the settings (`piano_assets.deploy.instance`): written
    when absent or still ours, never over a file someone edited (that is said instead). The pool
    limits (`muq`, `youtube_downloads`, `audio`) are set on the instance.
    """
    import dagster as dg

    from piano_assets.deploy.instance import (
        apply_pool_limits,
        default_dagster_home,
        write_instance_yaml,
    )

    path = default_dagster_home()
    outcome = write_instance_yaml(path)
    if outcome.action == "kept":
        print(f"piano-assets: warning: {outcome.message}", file=sys.stderr)
    os.environ["DAGSTER_HOME"] = str(path)
    with dg.DagsterInstance.from_config(str(path)) as instance:
        apply_pool_limits(instance)
    return path


def _print_summary(outcome: RunAllOutcome, root: Path, embedder_label: str) -> None:
    print()
    print("=" * 78)
    print(f"piano-assets: model repo {root}")
    print(f"MuQ: {embedder_label}")
    for stage in outcome.stages:
        status = "ok" if stage.succeeded else "FAILED"
        print(f"\n[{status}] {stage.name}  (runs: {len(stage.run_ids)})")
        for asset, count in sorted(stage.materialized.items()):
            print(f"    materialized {asset}" + (f" x{count}" if count > 1 else ""))
        shown = {str(root)}
        for label, path in sorted(stage.paths.items()):
            if path not in shown:  # each place once; the repo root is said above
                shown.add(path)
                print(f"    wrote {label} -> {path}")
        for failure in stage.failures:
            print("    FAILURE " + failure.replace("\n", "\n        "))
        for recording, cause in sorted(stage.unavailable.items()):
            print(f"    UNAVAILABLE at the source (not retried) {recording}: {cause[:200]}")
    checks = outcome.checks
    passed = sum(check.passed for check in checks)
    print(f"\nAsset checks: {passed}/{len(checks)} passed")
    for check in sorted(checks, key=lambda c: (c.asset, c.check)):
        mark = "PASS" if check.passed else f"FAIL ({check.severity})"
        print(f"    {mark:<14} {check.asset} :: {check.check}")
    print("=" * 78)


def _print_readiness(instance: DagsterInstance, outcome: RunAllOutcome) -> None:
    """The readiness report this invocation wrote (never an older one)."""
    import dagster as dg

    run_ids = {run_id for stage in outcome.stages for run_id in stage.run_ids}
    event = instance.get_latest_materialization_event(dg.AssetKey("readiness_report"))
    if event is None or event.run_id not in run_ids or event.asset_materialization is None:
        print("readiness_report did not materialize in this invocation: see the FAILURE above")
        return
    report = event.asset_materialization.metadata.get("report")
    if report is not None:
        print(str(report.value).rstrip())
        print("=" * 78)


def _quiet_dagster_warnings() -> None:
    # Beta/preview notices of Dagster APIs we chose on purpose; they drown the summary.
    import warnings

    warnings.filterwarnings("ignore", message=".*is currently in (beta|preview).*")
    warnings.filterwarnings("ignore", category=DeprecationWarning)


def use_sample(sample_dir: Path, *, reset: bool = False) -> dict[str, str]:
    """Generate the sample and point this process's settings at it (before definitions load)."""
    from piano_assets.sample.repo import ensure_sample_repo, sample_environment

    ensure_sample_repo(sample_dir, reset=reset)
    environment = sample_environment(sample_dir)
    os.environ.update(environment)
    settings_or_defaults.cache_clear()
    return environment


def cmd_main(args: argparse.Namespace) -> int:
    _quiet_dagster_warnings()
    settings = load_settings()
    if settings.root is None:
        use_sample(settings.sample_dir, reset=args.reset_sample)
        settings = load_settings()
    root = settings.model_repo_root()
    home = ensure_dagster_home()
    print(f"Model repo: {root}\nDAGSTER_HOME: {home}")

    import dagster as dg

    from piano_assets.definitions import defs
    from piano_assets.resources import MuqEmbedderResource
    from piano_assets.runner import materialize_everything

    outcome = materialize_everything(
        defs, dg.DagsterInstance.get(), settings.backfill_partitions_per_run
    )
    label = MuqEmbedderResource().get_embedder().label
    _print_summary(outcome, root, label)
    _print_readiness(dg.DagsterInstance.get(), outcome)
    failed_checks = [c for c in outcome.checks if not c.passed and c.severity == "ERROR"]
    return 0 if outcome.succeeded and not failed_checks else 1


def cmd_sample(args: argparse.Namespace) -> int:
    from piano_assets.sample.repo import world_dir_for

    settings = load_settings()
    environment = use_sample(settings.sample_dir, reset=args.reset)
    root = Path(environment["PIANO_ASSETS_ROOT"])
    home = ensure_dagster_home()  # `./dev ui` opens this instance: give it our dagster.yaml
    if args.env_file is not None:
        # `./dev ui` sources this before starting `dagster dev` on the sample.
        lines = [f"export {name}={shlex.quote(value)}" for name, value in environment.items()]
        atomic_write_text(args.env_file, "\n".join(lines) + "\n")
    print(f"sample model repo: {root}\nsample outside world: {world_dir_for(root)}")
    print(f"DAGSTER_HOME: {home}")
    return 0


def cmd_maestro_map(args: argparse.Namespace) -> int:
    from piano_assets.maestro.metadata import MaestroMetadataError
    from piano_assets.maestro.outputs import write_map_from_metadata

    try:
        stats = write_map_from_metadata(args.metadata, args.out)
    except (MaestroMetadataError, ValueError) as err:
        print(f"piano-assets maestro-map: {err}", file=sys.stderr)
        return 2
    print(
        f"{args.out}: {stats.recordings} recordings; {stats.raw_pieces} raw titles -> "
        f"{stats.pieces} normalized -> {stats.works} works ({stats.titles_unresolved} titles "
        f"unresolved); {stats.works_with_2_plus_performers} works with 2+ performers"
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="piano-assets", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    main_cmd = sub.add_parser(
        "main", help="materialize every asset on the model repo (default: the sample)"
    )
    main_cmd.add_argument(
        "--reset-sample", action="store_true", help="regenerate the sample from scratch first"
    )
    main_cmd.set_defaults(func=cmd_main)
    sample_cmd = sub.add_parser("sample", help="generate the embedded sample model repo")
    sample_cmd.add_argument("--reset", action="store_true", help="discard and regenerate it")
    sample_cmd.add_argument(
        "--env-file",
        type=Path,
        help="also write the PIANO_ASSETS_* settings that point at the sample (shell exports)",
    )
    sample_cmd.set_defaults(func=cmd_sample)
    map_cmd = sub.add_parser(
        "maestro-map", help="write the MAESTRO piece map (work identity) from a metadata file"
    )
    map_cmd.add_argument("metadata", type=Path, help="maestro-v3.0.0.csv or .json")
    map_cmd.add_argument("out", type=Path, help="the Parquet file to write")
    map_cmd.set_defaults(func=cmd_maestro_map)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except SettingsError as err:
        print(f"piano-assets: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
