"""The one code location: every group's assets, checks, sensors, jobs and resources."""

from __future__ import annotations

import dagster as dg

from piano_assets.chopin2021.assets import competition_assets
from piano_assets.chopin2021.checks import competition_checks
from piano_assets.maestro.assets import maestro_assets
from piano_assets.maestro.checks import maestro_checks
from piano_assets.percepiano.assets import observed_caches
from piano_assets.readiness.assets import readiness_assets, with_eager_automation
from piano_assets.readiness.sensors import readiness_sensors
from piano_assets.reorganize.assets import reorganize_assets, reorganize_jobs
from piano_assets.reorganize.checks import reorganize_checks
from piano_assets.resources import default_resources

all_assets = [
    # Destructive moves and deletes stay manual even when eager automation is on.
    *reorganize_assets,
    *observed_caches,
    # PIANO_ASSETS_AUTOMATION=eager: the tiers refresh when their parents update (off by default).
    *with_eager_automation([*competition_assets, *maestro_assets]),
    *readiness_assets,
]
all_checks = [*reorganize_checks, *competition_checks, *maestro_checks]  # + the report's own

defs = dg.Definitions(
    assets=all_assets,
    asset_checks=all_checks,
    jobs=[*reorganize_jobs],
    sensors=readiness_sensors,
    resources=default_resources(),
)
