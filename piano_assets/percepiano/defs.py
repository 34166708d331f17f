"""T1 and the other caches the user keeps, observed (never written), as one `defs`."""

import dagster as dg

from piano_assets.percepiano.assets import observed_caches

defs = dg.Definitions(assets=observed_caches)
