"""MAESTRO's recordings as dynamic partitions: one per recording, keyed from `audio_filename`."""

from __future__ import annotations

import dagster as dg

MAESTRO_PARTITIONS_NAME = "maestro_recordings"

maestro_recordings_partitions = dg.DynamicPartitionsDefinition(name=MAESTRO_PARTITIONS_NAME)
