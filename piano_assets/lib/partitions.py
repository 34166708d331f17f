"""Registering per-recording dynamic partitions: in chunks, never removing one."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import dagster as dg

# SQLite stops at ~36k variables in one `IN (…)` (dagster #16260); stay well below.
REGISTRATION_CHUNK = 10_000


def registered_partitions(instance: dg.DagsterInstance, partitions_name: str) -> list[str]:
    return list(instance.get_dynamic_partitions(partitions_name))


def unregistered(
    instance: dg.DagsterInstance, partitions_name: str, keys: Iterable[str]
) -> list[str]:
    """The keys not yet registered, in order, once each."""
    existing = set(instance.get_dynamic_partitions(partitions_name))
    return [key for key in dict.fromkeys(keys) if key not in existing]


def add_new_partitions(
    instance: dg.DagsterInstance,
    partitions_name: str,
    keys: Iterable[str],
    *,
    chunk: int = REGISTRATION_CHUNK,
    progress: Callable[[str], None] | None = None,
) -> list[str]:
    """Register the keys not yet registered (never removes any), `chunk` at a time; return the
    new ones."""
    new = unregistered(instance, partitions_name, keys)
    for start in range(0, len(new), chunk):
        instance.add_dynamic_partitions(partitions_name, new[start : start + chunk])
        if progress is not None and len(new) > chunk:
            progress(f"registered {min(start + chunk, len(new))}/{len(new)} {partitions_name}")
    return new
