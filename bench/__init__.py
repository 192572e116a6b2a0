"""Benchmarks (not tests): each writes its table into docs/benchmarks.md."""
