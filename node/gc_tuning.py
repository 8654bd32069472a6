"""Garbage-collector settings for a long-running node (docs/decisions/0401-replication-hot-path.md).

A push allocates tens of thousands of short-lived containers (parsed records, rows, roll-up
cells). With CPython's defaults each batch triggers many collections, and every full one walks
the whole heap — mostly the modules and models loaded at start-up, which never die. Freezing
that start-up heap takes it out of every later collection, and a larger first generation lets a
batch's temporaries die young before a collection sees them. Measured on a push: parsing 2.7×
and applying 1.15× faster.
"""

import gc

YOUNG_THRESHOLD = 50_000  # CPython's default is 700


def tune_for_service() -> None:
    """Call once the node has started: collect, freeze what exists, collect young less often."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)


def startup_hook(_ctx: object) -> None:
    """For create_app(background=[...]) in a process that serves one node (`tiersync serve`):
    tests that run many nodes in one process leave the collector alone."""
    tune_for_service()
