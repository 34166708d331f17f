"""The toy tier's `defs`: a catalog asset, the factory's per-recording tier, a summary asset."""

import json

import dagster as dg

from piano_assets.lib.partitions import add_new_partitions, registered_partitions
from piano_assets.lib.recording_steps import completeness
from piano_assets.lib.tier_factory import recording_tier
from piano_assets.readiness.gate import TierGate, TierVerdict
from piano_assets.resources import ModelRepoResource
from piano_assets_tests.toy_tier.adapter import ADAPTER, catalog_file, source_listing

NAMES = ADAPTER.names


@dg.asset(group_name=NAMES.group)
def toy_catalog(context: dg.AssetExecutionContext, model_repo: ModelRepoResource) -> None:
    """Copies the toy world's listing into the catalog and registers its partitions."""
    layout = model_repo.layout()
    listing = json.loads(source_listing(layout).read_text(encoding="utf-8"))
    catalog_file(layout).parent.mkdir(parents=True, exist_ok=True)
    catalog_file(layout).write_text(json.dumps(listing), encoding="utf-8")
    add_new_partitions(context.instance, NAMES.partitions, listing)


@dg.asset(group_name=NAMES.group, deps=[NAMES.embeddings])
def toy_summary(context: dg.AssetExecutionContext, model_repo: ModelRepoResource) -> None:
    registered = registered_partitions(context.instance, NAMES.partitions)
    context.log.info(f"{len(registered)} toy recordings")


tier = recording_tier(ADAPTER)

defs = dg.Definitions.merge(tier.definitions(), dg.Definitions(assets=[toy_catalog, toy_summary]))


def _judge(layout, registered):  # type: ignore[no-untyped-def]
    state = completeness(ADAPTER.recording_paths(layout), list(registered))
    problems = [] if state.passed else [state.describe()]
    return TierVerdict(problems, {"recordings": len(registered)}, embedders=state.embedders)


GATE = TierGate(
    title="Toy tier (information only)",
    assets=(NAMES.embeddings, "toy_summary"),
    partitions=NAMES.partitions,
    judge=_judge,
    gating=False,
)
