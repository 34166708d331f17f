"""T4: YouTube piano recitals, clean and augmented MuQ embeddings, invariance pairs.

Dagster-free domain logic: the curated channels (`channels`), the catalog and its filters
(`catalog`), download failure classes (`failures`), seeded augmentation (`augment`), the
invariance baseline (`invariance`) and the records written to the model repo (`records`).
"""
