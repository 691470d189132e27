"""Lockline's bounce-mail parser: raw bytes in, a BounceReport out.

Pure Python, no Django: it runs without settings or a database.

    from bounces.parser import parse, classify
    report = parse(raw_bytes)
    reason, category, detail, hard = classify("5.1.1", "550", "User unknown")
"""

from .classify import classify
from .engine import parse
from .report import BounceReport, Category, Kind, RecipientResult

__all__ = ["parse", "classify", "BounceReport", "RecipientResult", "Kind", "Category"]
