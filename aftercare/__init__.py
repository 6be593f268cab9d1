"""Aftercare: the console script and the kernel every package shares (catalog, clock, logs)."""
