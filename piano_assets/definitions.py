"""The one code location: each group's `defs`, merged, with the shared resources.

A tier is one folder exporting `defs` (built on `piano_assets.lib.tier_factory`) and a `GATE`
for readiness; adding one is one folder and one line here. (Modules, not their `defs`, are
imported: Dagster wants one Definitions object at this module's scope.)
"""

from __future__ import annotations

import dagster as dg

from piano_assets.chopin2021 import defs as chopin2021
from piano_assets.chopin2021 import gate as chopin2021_gate
from piano_assets.deploy.executor import executor_from_settings
from piano_assets.maestro import defs as maestro
from piano_assets.maestro import gate as maestro_gate
from piano_assets.percepiano import defs as percepiano
from piano_assets.readiness.assets import readiness_defs
from piano_assets.reorganize import defs as reorganize
from piano_assets.resources import default_resources
from piano_assets.youtube_piano import defs as youtube_piano
from piano_assets.youtube_piano import gate as youtube_piano_gate

defs = dg.Definitions.merge(
    reorganize.defs,
    percepiano.defs,
    chopin2021.defs,
    maestro.defs,
    youtube_piano.defs,
    readiness_defs([chopin2021_gate.GATE, maestro_gate.GATE, youtube_piano_gate.GATE]),
    # Multiprocess by default; Celery or Kubernetes by PIANO_ASSETS_EXECUTOR (piano_assets/deploy).
    dg.Definitions(resources=default_resources(), executor=executor_from_settings()),
)
