"""Reproducible benchmarks: ``python -m benchmarks.<name>``; each measures its peers in the same run."""
