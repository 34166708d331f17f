"""`readiness_report`: one place in the UI that says whether the training data is complete.

It judges the user's six gating criteria from the files in the model repo (see `criteria.py`),
shows a markdown report (pass/fail, counts, links to each criterion's assets) and fails, naming
what is missing, unless all six pass: "complete" is a green materialization you can see.

It receives the tiers' gates (`readiness_defs(gates)`), never their internals. Eager automation
(`PIANO_ASSETS_AUTOMATION=eager`, off by default) refreshes the report when the tiers update;
see `piano_assets/lib/automation.py`.
"""

from collections.abc import Iterator, Sequence

import dagster as dg

from piano_assets.lib.automation import automation_condition
from piano_assets.readiness.checks import readiness_check_results, readiness_check_specs
from piano_assets.readiness.criteria import evaluate_readiness, gating, render_report
from piano_assets.readiness.gate import TierGate
from piano_assets.resources import ModelRepoResource

# The reorganize steps the first criteria judge; each gating tier adds its summary asset.
REORGANIZE_PARENTS: tuple[str, ...] = (
    "masterclass_pipeline_code",
    "masterclass_pipeline_data",
    "legacy_tools_removed",
    "stale_data_removed",
    "superseded_plans_removed",
)


def readiness_defs(gates: Sequence[TierGate]) -> dg.Definitions:
    """The report over the reorganization's criteria and the tiers' gates (the last asset of
    each gate is its summary, upstream of the report)."""
    summaries = [gate.assets[-1] for gate in gates if gate.gating]

    @dg.asset(
        group_name="readiness",
        deps=[*REORGANIZE_PARENTS, *summaries],
        automation_condition=automation_condition(),
        check_specs=readiness_check_specs("readiness_report"),
        description="The six gating criteria of the validation list, judged from the model "
        "repo; succeeds only when every one passes. T4 is shown for information, not a gate.",
    )
    def readiness_report(
        context: dg.AssetExecutionContext, model_repo: ModelRepoResource
    ) -> Iterator[dg.AssetCheckResult | dg.MaterializeResult]:
        layout = model_repo.layout()
        registered = {
            gate.partitions: context.instance.get_dynamic_partitions(gate.partitions)
            for gate in gates
        }
        results = evaluate_readiness(layout, gates, registered)
        report = render_report(results)
        for result in results:
            context.log.info(
                f"{result.number}. {result.title}: {'PASS' if result.passed else 'FAIL'} "
                + "; ".join(result.problems[:3])
            )
        # The checks first: they are recorded even when the report then fails.
        yield from readiness_check_results(gating(results))
        failing = [r for r in gating(results) if not r.passed]
        if failing:
            raise dg.Failure(
                description="Not ready: "
                + "; ".join(
                    f"{r.number}. {r.title} ({'; '.join(r.problems[:2])})" for r in failing
                ),
                metadata={
                    "report": dg.MetadataValue.md(report),
                    "criteria_failing": dg.MetadataValue.json([r.number for r in failing]),
                },
            )
        yield dg.MaterializeResult(
            metadata={
                "report": dg.MetadataValue.md(report),
                "criteria_passed": len(gating(results)),
                "criteria": dg.MetadataValue.json([r.model_dump(mode="json") for r in results]),
                "muq_embedders": dg.MetadataValue.json(
                    sorted({label for r in results for label in r.embedders})
                ),
                "model_repo": dg.MetadataValue.path(str(layout.root)),
            }
        )

    return dg.Definitions(assets=[readiness_report])
