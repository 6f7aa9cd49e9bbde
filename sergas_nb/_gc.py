"""Cyclic garbage collection paused while the client builds many short-lived containers.

A read's typing and a write's payload, JSON and outcomes allocate millions of small containers
that die by reference counting; the collector would walk every live one again and again (half
the typing CPU of a 20,000-row read; 40-odd collections and up to a quarter second of pauses in
a 4,999-record update, against 3 collections for a floor client's). Cycles made meanwhile are
collected once it is back on. Threads share one count, so the collector comes back on only when
the last holder leaves, and only if it was on before the first came.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_holders = 0
_was_enabled = True


@contextmanager
def gc_paused() -> Iterator[None]:
    """Cyclic GC off inside the block (nested and concurrent blocks share one count)."""
    global _holders, _was_enabled
    with _lock:
        if _holders == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0 and _was_enabled:
                gc.enable()
