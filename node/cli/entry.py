"""The `tiersync` console script: the command line's imports with the collector off.

Importing the node allocates about a million objects that live as long as the process;
CPython's collector walks them again and again while they are made (0.4 s of a 1.9 s start
of any command, measured 2026-12-04). They are imported with the collector off, then frozen
(out of every later collection, as node/gc_tuning.py does for a serving node).
"""

import gc


def main() -> None:
    gc.disable()
    try:
        from node.cli.main import app
    finally:
        gc.freeze()
        gc.enable()
    app()
