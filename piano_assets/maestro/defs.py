"""T3 MAESTRO v3: every asset, check and sensor of the tier, as one `defs`."""

import dagster as dg

from piano_assets.lib.automation import automation_condition, with_eager_automation
from piano_assets.lib.tier_factory import recording_tier
from piano_assets.maestro.adapter import ADAPTER
from piano_assets.maestro.assets import maestro_assets
from piano_assets.maestro.checks import maestro_checks

tier = recording_tier(ADAPTER, automation_condition=automation_condition())

defs = dg.Definitions.merge(
    tier.definitions(),
    dg.Definitions(assets=with_eager_automation(maestro_assets), asset_checks=maestro_checks),
)
