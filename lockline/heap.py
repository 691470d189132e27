"""Keep the cycle collector's full passes short in long-running processes.

A loaded Lockline process holds about 125,000 objects the cycle collector tracks (Django, the
apps, Anymail, Celery, the URLconf), nearly all of them alive until the process exits. A full
collection walks every one: 65-70 ms here. CPython runs one whenever enough objects have
survived the younger collections, which a 1,000-event webhook batch does by itself (its events
live for the whole request), so every few batches one request paid those 70 ms in the middle.
``gc.freeze()`` moves what exists at that moment into a permanent generation the collector
never walks; objects made later are collected as before.

Called once the process has loaded everything it will keep: ``lockline.wsgi`` at the end of
start-up (in each gunicorn worker, or in the master before it forks with ``--preload``, which
also keeps the frozen pages shared), and Celery's pool processes at start.
"""
from __future__ import annotations

import gc


def freeze_startup_heap() -> None:
    """Collect once, then freeze every object left."""
    gc.collect()
    gc.freeze()
