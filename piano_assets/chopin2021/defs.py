"""T2 Chopin Competition 2021: every asset, check and sensor of the tier, as one `defs`."""

import dagster as dg

from piano_assets.chopin2021.adapter import ADAPTER
from piano_assets.chopin2021.assets import chopin2021_assets
from piano_assets.chopin2021.checks import chopin2021_checks
from piano_assets.lib.automation import automation_condition, with_eager_automation
from piano_assets.lib.tier_factory import recording_tier

tier = recording_tier(ADAPTER, automation_condition=automation_condition())

defs = dg.Definitions.merge(
    tier.definitions(),
    dg.Definitions(assets=with_eager_automation(chopin2021_assets), asset_checks=chopin2021_checks),
)
