"""Asset checks of group `reorganize` (thin wrappers around `verify` and `pipeline_build`).

* `layout_matches_design` on each of the five assets: its part of the layout is present or gone.
* `pipeline_builds_and_runs` on masterclass_pipeline_code: cargo build, then `status` with
  `--data-dir` and with the rewritten default. No cargo: a failed WARN, never a silent pass.
* `no_data_lost` on each asset: every file of the 'before' inventory of its area is at its
  destination, in the trash, or still in place (or was purged on explicit request).
"""

from typing import Any

import dagster as dg

from piano_assets.reorganize.pipeline_build import find_cargo, probe_pipeline
from piano_assets.reorganize.plan import format_bytes
from piano_assets.reorganize.records import Step
from piano_assets.reorganize.report import md_cell
from piano_assets.reorganize.verify import Location, account_for_inventory, layout_findings
from piano_assets.resources import ModelRepoResource

_SYMBOL = {True: "ok", False: "**NO**"}
# The moves gate the removal of tools/ in the same run: a lost file stops it there.
_BLOCKING_NO_DATA_LOST = {Step.PIPELINE_CODE, Step.PIPELINE_DATA}


def _layout_check(step: Step) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=step.value,
        name="layout_matches_design",
        description=f"The part of the layout {step} is in charge of: present / gone / kept.",
    )
    def _check(model_repo: ModelRepoResource) -> dg.AssetCheckResult:
        findings = [f for f in layout_findings(model_repo.layout()) if f.step is step]
        wrong = [f for f in findings if not f.ok and f.expected != "kept"]
        kept_missing = [f for f in findings if not f.ok and f.expected == "kept"]
        table = "| path | expected | ok | detail |\n|---|---|---|---|\n" + "\n".join(
            f"| `{md_cell(f.path)}` | {f.expected} | {_SYMBOL[f.ok]} | {md_cell(f.detail)} |"
            for f in findings
        )
        if wrong:
            description = "; ".join(f"{f.path}: {f.detail}" for f in wrong)
            severity = dg.AssetCheckSeverity.ERROR
        elif kept_missing:
            description = (
                "kept folders absent (the reorganization never touches them): "
                + ", ".join(f.path for f in kept_missing)
            )
            severity = dg.AssetCheckSeverity.WARN
        else:
            description = f"{len(findings)} expectations hold"
            severity = dg.AssetCheckSeverity.ERROR
        return dg.AssetCheckResult(
            passed=not wrong and not kept_missing,
            severity=severity,
            description=description,
            metadata={"layout": dg.MetadataValue.md(table)},
        )

    return _check


def _no_data_lost_check(step: Step) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=step.value,
        name="no_data_lost",
        blocking=step in _BLOCKING_NO_DATA_LOST,
        description=(
            "Inventory before = at the destination + in the trash + still in place "
            "(+ purged on explicit request): every file of this step's area, by sha256."
        ),
    )
    def _check(model_repo: ModelRepoResource) -> dg.AssetCheckResult:
        accounting = account_for_inventory(model_repo.layout(), step)
        totals = accounting.totals()
        before_files, before_bytes = accounting.before
        table = "| where | files | size |\n|---|---:|---:|\n" + "\n".join(
            f"| {location} | {files} | {format_bytes(size)} |"
            for location, (files, size) in totals.items()
        )
        table += f"\n| **before** | **{before_files}** | **{format_bytes(before_bytes)}** |"
        metadata: dict[str, Any] = {
            "accounting": dg.MetadataValue.md(table),
            "files_before": before_files,
            "bytes_before": before_bytes,
            "files_missing": len(accounting.missing),
        }
        if accounting.missing:
            metadata["missing"] = dg.MetadataValue.md(
                "\n".join(
                    f"- `{item.record.path}` ({item.record.sha256[:12]})"
                    for item in accounting.missing
                )
            )
            description = (
                f"{len(accounting.missing)} of {before_files} files are nowhere to be found"
            )
        elif before_files == 0:
            description = "no inventory yet: the step has not moved or deleted anything"
        else:
            placed = {
                location.value: totals[location][0] for location in Location if totals[location][0]
            }
            description = f"all {before_files} files accounted for: {placed}"
        return dg.AssetCheckResult(
            passed=not accounting.missing, description=description, metadata=metadata
        )

    return _check


@dg.asset_check(
    asset=Step.PIPELINE_CODE.value,
    name="pipeline_builds_and_runs",
    additional_deps=[Step.PIPELINE_DATA.value],
    description=(
        "`cargo build --offline` in model/tools/masterclass-pipeline, then `status` with "
        "--data-dir model/data/masterclass_pipeline and with the default: both must report "
        "the data folder's contents. WARN when cargo is missing (nothing was verified)."
    ),
)
def pipeline_builds_and_runs(model_repo: ModelRepoResource) -> dg.AssetCheckResult:
    layout = model_repo.layout()
    cargo = find_cargo()
    if cargo is None:
        return dg.AssetCheckResult(
            passed=False,
            severity=dg.AssetCheckSeverity.WARN,
            description=(
                "NOT VERIFIED: cargo was not found (PATH, ~/.cargo/bin), so the pipeline was "
                "neither built nor run. Install Rust (https://rustup.rs) and re-run this check."
            ),
            metadata={"cargo": "missing"},
        )
    probe = probe_pipeline(layout, cargo)
    metadata: dict[str, Any] = {
        "cargo": str(cargo),
        "built": probe.built,
        "build_seconds": probe.build_seconds,
        "expected_status": dg.MetadataValue.json(probe.expected),
        "status_with_data_dir": dg.MetadataValue.json(probe.with_flag),
        "status_by_default": dg.MetadataValue.json(probe.by_default),
    }
    if probe.problems:
        metadata["cargo_output"] = dg.MetadataValue.md(f"```\n{probe.output_tail}\n```")
    return dg.AssetCheckResult(
        passed=not probe.problems,
        description="; ".join(probe.problems)
        or f"built in {probe.build_seconds} s; status reads {layout.pipeline_data} both ways",
        metadata=metadata,
    )


reorganize_checks = [
    *(_layout_check(step) for step in Step),
    pipeline_builds_and_runs,
    *(_no_data_lost_check(step) for step in Step),
]
