"""Accuracy of ``parse()`` against the Sisimai corpus.

    python -m bounces.parser.accuracy [CORPUS_DIR] [-v]

Scores files whose ``expected_from`` is "both" or "sisimai-tests". Per file: the set of
recipients must be exactly right, hard flags must agree, reasons must agree. Prints a table
per MTA family, then a final line with the three overall percentages. Exits 1 when a message
made the parser fail internally.
"""

from __future__ import annotations

import json
import mailbox
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from . import parse
from .engine import INTERNAL_ERROR_PREFIX
from .report import BounceReport, Kind

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def default_corpus() -> Path:
    """``../shared/corpus/sisimai`` relative to the project root.

    A git worktree may sit deeper than the main checkout, so ancestors further up are tried
    too; the first that holds the corpus wins.
    """
    for base in PROJECT_ROOT.parents:
        candidate = base / "shared" / "corpus" / "sisimai"
        if (candidate / "expected.jsonl").exists():
            return candidate
    return PROJECT_ROOT.parent / "shared" / "corpus" / "sisimai"

SCORED = ("both", "sisimai-tests")
_KIND_REASON = {Kind.COMPLAINT: "feedback", Kind.AUTO_REPLY: "vacation"}


@dataclass
class FileScore:
    file: str
    family: str
    recipients_ok: bool
    hard_ok: bool
    reasons_ok: bool
    raised: list[str] = field(default_factory=list)
    got: list[tuple] = field(default_factory=list)
    expected: list[tuple] = field(default_factory=list)


def split_messages(raw: bytes, path: Path) -> list[bytes]:
    """One entry per message: mbox files (and .eml files holding mbox separators) are split."""
    if raw.startswith(b"From ") and (path.suffix == ".mbox" or b"\nFrom " in raw):
        box = mailbox.mbox(str(path), create=False)
        try:
            msgs = [box.get_bytes(key) for key in box.keys()]
        finally:
            box.close()
        return msgs or [raw]
    return [raw]


def score_file(path: Path, row: dict) -> FileScore:
    """Parse every message of one corpus file and compare with its expected row."""
    raw = path.read_bytes()
    reports: list[BounceReport] = []
    raised: list[str] = []
    for data in split_messages(raw, path):
        try:
            rep = parse(data)
        except Exception as exc:  # parse() must not raise; count it if it does
            raised.append(f"{type(exc).__name__}: {exc}")
            continue
        if rep.parse_error and rep.parse_error.startswith(INTERNAL_ERROR_PREFIX):
            raised.append(rep.parse_error)
        reports.append(rep)
    ours = {}
    kinds = set()
    for rep in reports:
        kinds.add(rep.kind)
        for r in rep.recipients:
            ours.setdefault(r.address, r)
    expected = row["expected"] or []
    exp_addrs = {e["recipient"].lower() for e in expected if e.get("recipient")}
    # A null expected recipient means "no Sisimai version could name one": it matches any one
    # address we report, but not more than one per null.
    unnamed = sum(1 for e in expected if not e.get("recipient"))
    extra = set(ours) - exp_addrs
    recipients_ok = exp_addrs <= set(ours) and len(extra) <= unnamed
    hard_ok = reasons_ok = True
    for e in expected:
        addr = (e.get("recipient") or "").lower()
        if addr:
            got = ours.get(addr)
            hard_ok &= got is not None and got.hard == e["hardbounce"]
            reasons_ok &= got is not None and got.reason == e["reason"]
        else:
            implied = {r.reason for r in ours.values()} | {_KIND_REASON.get(k, "") for k in kinds}
            reasons_ok &= e["reason"] in implied
            hard_ok &= not any(r.hard for r in ours.values()) == (not e["hardbounce"])
    if not expected:
        hard_ok = not any(r.hard for r in ours.values())
        reasons_ok = not ours
    family = "-".join(x for x in (row.get("family"), row.get("mta")) if x) or "other"
    if row.get("family") == row.get("mta") and row.get("family"):
        family = row["family"]
    return FileScore(
        file=row["file"], family=family, recipients_ok=recipients_ok, hard_ok=hard_ok,
        reasons_ok=reasons_ok, raised=raised,
        got=sorted((a, r.reason, r.hard, r.status, r.smtp_code) for a, r in ours.items()),
        expected=[(e.get("recipient"), e["reason"], e["hardbounce"], e["status"], e["replycode"]) for e in expected],
    )


def load_rows(corpus: Path) -> list[dict]:
    """Scored rows, with duplicate messages inside maildir/bsd counted once."""
    rows = [json.loads(line) for line in (corpus / "expected.jsonl").read_text().splitlines() if line.strip()]
    seen: set[str] = set()
    out = []
    for row in rows:
        if row["expected_from"] not in SCORED:
            continue
        if row["set"] == "maildir/bsd":
            dupes = {f for f in row.get("same_content_as", []) if f.startswith("emails/") and "/crlf-" not in f and "/cr-" not in f}
            if dupes & seen:
                continue
            seen.add(row["file"])
        out.append(row)
    return out


def run(corpus: Path, verbose: bool = False) -> tuple[list[FileScore], dict]:
    scores = [score_file(corpus / row["file"], row) for row in load_rows(corpus)]
    return scores, summarise(scores)


def _pct(n: int, d: int) -> float:
    return 100.0 * n / d if d else 100.0


def summarise(scores: list[FileScore]) -> dict:
    fams: dict[str, list[FileScore]] = defaultdict(list)
    for s in scores:
        fams[s.family].append(s)
    def agg(items):
        n = len(items)
        return {"files": n,
                "recipients": _pct(sum(s.recipients_ok for s in items), n),
                "hard": _pct(sum(s.hard_ok for s in items), n),
                "reasons": _pct(sum(s.reasons_ok for s in items), n)}
    return {"families": {k: agg(v) for k, v in fams.items()}, "overall": agg(scores)}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    verbose = "-v" in argv
    args = [a for a in argv if not a.startswith("-")]
    corpus = Path(args[0]) if args else default_corpus()
    scores, summary = run(corpus, verbose)
    print(f"{'family':28} {'files':>5} {'recips%':>8} {'hard%':>7} {'reason%':>8}")
    fams = sorted(summary["families"].items(), key=lambda kv: (kv[1]["reasons"] + kv[1]["recipients"] + kv[1]["hard"], kv[0]))
    for name, a in fams:
        print(f"{name:28} {a['files']:5d} {a['recipients']:8.1f} {a['hard']:7.1f} {a['reasons']:8.1f}")
    if verbose:
        for s in scores:
            if not (s.recipients_ok and s.hard_ok and s.reasons_ok):
                flags = "".join(c if ok else "-" for c, ok in zip("RHW", (s.recipients_ok, s.hard_ok, s.reasons_ok)))
                print(f"MISS {flags} {s.file}\n   got {s.got}\n   exp {s.expected}")
    raised = [s for s in scores if s.raised]
    for s in raised:
        print(f"RAISED {s.file}: {s.raised}")
    o = summary["overall"]
    print(f"messages raising: {len(raised)}")
    print(f"OVERALL files={o['files']} recipients={o['recipients']:.1f}% hard={o['hard']:.1f}% reasons={o['reasons']:.1f}%")
    return 1 if raised else 0


if __name__ == "__main__":
    sys.exit(main())
