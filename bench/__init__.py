"""Benchmarks: Ordinal side by side with the baselines a user would pick."""
