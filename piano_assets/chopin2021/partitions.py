"""One dynamic partition per matched recording of the Chopin 2021 tier.

Keys come from `catalog.recording_key` (e.g. `s1-liu-bruce-xiaoyu-01`): stable, lower-case ASCII,
safe as file names. `chopin2021_video_catalog` registers them; nothing removes them silently.
"""

from __future__ import annotations

import dagster as dg

CHOPIN2021_PARTITIONS_NAME = "chopin2021_recordings"

chopin2021_recordings = dg.DynamicPartitionsDefinition(name=CHOPIN2021_PARTITIONS_NAME)
