"""Benchmarks and the synthetic corpus they and the tests share (not part of the package)."""
