"""Opt-in eager automation (`PIANO_ASSETS_AUTOMATION=eager`); off by default.

With it on, the tiers' assets and the readiness report get `dg.AutomationCondition.eager()`
("downstream eager": materialize when a parent updated and none of its parents is missing or in
progress), evaluated by the daemon's automation sensor (`dagster dev` starts the daemon). The
reorganize group never gets it: its moves and deletes stay a person's decision. Per-recording
assets only update partitions that are registered, so pair it with the catalog sensors.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import dagster as dg

AUTOMATION_ENV = "PIANO_ASSETS_AUTOMATION"


def eager_automation_enabled() -> bool:
    return os.environ.get(AUTOMATION_ENV, "").strip().lower() == "eager"


def automation_condition() -> dg.AutomationCondition | None:
    """Downstream-eager automation when PIANO_ASSETS_AUTOMATION=eager, else none (default)."""
    return dg.AutomationCondition.eager() if eager_automation_enabled() else None


def with_eager_automation(
    assets: Sequence[dg.AssetsDefinition | dg.SourceAsset],
) -> list[dg.AssetsDefinition | dg.SourceAsset]:
    """The same assets, with `eager()` on every spec when the setting is on (unchanged if off).
    Observable source assets are left alone: they are observed, not materialized."""
    condition = automation_condition()
    if condition is None:
        return list(assets)
    return [
        asset.map_asset_specs(lambda spec: spec.replace_attributes(automation_condition=condition))
        if isinstance(asset, dg.AssetsDefinition) and asset.is_materializable
        else asset
        for asset in assets
    ]
