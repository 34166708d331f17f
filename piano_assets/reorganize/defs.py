"""The reorganization: its five steps, their checks and jobs, as one `defs`.

Destructive moves and deletes stay manual: no automation condition is ever put on them.
"""

import dagster as dg

from piano_assets.reorganize.assets import reorganize_assets, reorganize_jobs
from piano_assets.reorganize.checks import reorganize_checks

defs = dg.Definitions(
    assets=reorganize_assets, asset_checks=reorganize_checks, jobs=reorganize_jobs
)
