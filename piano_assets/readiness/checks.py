"""A blocking check on the readiness report: green only when every criterion passes."""

import dagster as dg

from piano_assets.readiness.assets import latest_check_outcomes, readiness_report
from piano_assets.readiness.criteria import evaluate


@dg.asset_check(asset=readiness_report, blocking=True, name="all_criteria_pass")
def all_criteria_pass(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
    results = evaluate(latest_check_outcomes(context.instance))
    failing = [f"{r.criterion.number}. {r.criterion.title}" for r in results if not r.passed]
    return dg.AssetCheckResult(
        passed=not failing,
        description="all six criteria pass" if not failing else "failing: " + "; ".join(failing),
        metadata={"criteria_passed": len(results) - len(failing)},
    )


readiness_checks = [all_criteria_pass]
