"""The controller's startup heap, kept out of the cyclic garbage collector's way.

Everything the controller builds at startup (FastAPI, pydantic's validators, SQLAlchemy's
tables, the OpenAPI document: ~150,000 tracked objects) lives as long as the process, yet
every full collection walked it again. Ingestion allocates containers by the thousand (a
1,000-step batch parses into ~4,000 dicts), so collections are frequent: the collector took
3.9 us of every step's ~15 (decode and validation of a 1,000-step body, in-process, the
startup heap of ``create_app`` behind it) and 1.0 us once that heap was frozen. What the
process allocates after startup is collected as before.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def startup_heap_frozen() -> Iterator[None]:
    """Freeze what is alive now; unfreeze on exit, so that an embedding process (a test
    session creating controller after controller) keeps a collectable heap.

    The young generations are collected first: most of startup's garbage is there, and would
    otherwise be kept until the exit. Not a full collection: with a test session's heap
    behind it, one took ~180 ms, at every controller's start.
    """
    gc.collect(1)
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
