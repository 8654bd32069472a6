"""Digests: prove two nodes hold the same versions (the digest tree, reports, verify)."""
