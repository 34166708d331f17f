"""A small test tier over generated audio: one folder, built on the tier factory, to show that a
new tier gets its partitions, per-recording steps, completeness check and sensor from the
factory, and is added to the code location with one line."""
