"""Benchmarks: scripts that print their figures (`python -m bench.<name>`).

See docs/benchmarks.md.
"""
