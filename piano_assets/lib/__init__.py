"""Shared building blocks of the code location: the per-recording tier and its helpers.

* `tier.py`: Dagster-free. What a tier supplies (`TierAdapter`), the names every tier follows
  (`TierNames`), where a tier's files live (`TierPaths`, with `TierPathsAdapter` answering from it)
  and its per-recording files (`RecordingPaths`), what is written per recording (`AudioRecord`).
* `jsonl.py`: Dagster-free. Pydantic records as JSON lines (catalogs, ledgers, metadata): atomic
  writes, validating reads whose errors name the file and line.
* `recording_steps.py`: Dagster-free. The per-recording work every tier shares: fetch and convert
  the audio, plan the segments, embed with MuQ, judge completeness.
* `tier_factory.py`: Dagster. `recording_tier(adapter)` builds a tier's partitions, its two
  per-recording steps (audio → segments; MuQ embeddings), its completeness check and its catalog
  sensor.
* `recording_batch.py`, `catalog_sensor.py`, `partitions.py`, `automation.py`, `markdown.py`:
  Dagster helpers the factory and the tiers use.
"""
