"""Group `reorganize`: the user's cleanup of the model repo (docs/target-layout.md), done safely.

Dagster-free: `plan` (read-only planning), `transfer` (verified copies), `trash`, `ops`
(the five steps), `verify` (layout, no data lost), `pipeline_build` (cargo). Dagster wiring:
`assets` and `checks`. Without Dagster: `python -m piano_assets.reorganize --help`.
"""
