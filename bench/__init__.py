"""Benchmarks: each prints a figure, its target, and whether it is met. Never run as tests."""
