"""Keep the cycle collector's full passes short in long-running processes.

A loaded Lockline process holds about 125,000 objects the cycle collector tracks (Django, the
apps, Anymail, Celery, the URLconf), nearly all of them alive until the process exits. A full
collection walks every one: 65-70 ms here. CPython runs one whenever enough objects have
survived the younger collections, which a 1,000-event webhook batch does by itself (its events
live for the whole request), so every few batches one request paid those 70 ms in the middle.
``gc.freeze()`` moves what exists at that moment into a permanent generation the collector
never walks; objects made later are collected as before.

The young generation's threshold is raised too (700 net allocations by default, 10,000 here). A
1,000-event batch keeps its events, drafts and rows alive until the request ends, and with the
default the collector ran 10-13 young passes and a middle-generation pass per batch, walking
those survivors again each time (0.6-1.5 ms per batch by gc.callbacks; 1.3 ms of a 57 ms batch
in paired rounds, 2026-11-29). Garbage in cycles waits a little longer for its collection: at
most 10,000 objects.

Called once the process has loaded everything it will keep: ``lockline.wsgi`` at the end of
start-up (in each gunicorn worker, or in the master before it forks with ``--preload``, which
also keeps the frozen pages shared), and Celery's pool processes at start.
"""
from __future__ import annotations

import gc


YOUNG_THRESHOLD = 10_000


def freeze_startup_heap() -> None:
    """Collect once, freeze every object left, and collect the young generation less often."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
