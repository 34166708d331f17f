"""piano_assets: the Dagster code location that prepares piano feedback training data."""

__version__ = "0.1.0"
