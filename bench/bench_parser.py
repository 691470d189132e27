"""Throughput of bounces.parser.parse() against flufl.bounce over the Sisimai corpus.

    python bench/bench_parser.py [CORPUS_DIR] [--rounds N]

Reads every corpus file into memory first, then runs N rounds; each round times the stdlib
parser alone, our parse() and flufl.bounce (``email.message_from_bytes`` + ``scan_message``)
back to back, so that machine noise hits all three alike, and measures process CPU time.
Prints median messages per CPU-second and the median of the per-round ratios. flufl.bounce only finds failed addresses; parse() also
classifies, finds ids and kinds. Needs requirements-bench.txt installed.
"""

from __future__ import annotations

import email
import logging
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bounces.parser import parse  # noqa: E402
from bounces.parser.accuracy import default_corpus  # noqa: E402
from bounces.parser.classify import clear_cache  # noqa: E402


def load(corpus: Path) -> list[bytes]:
    return [p.read_bytes() for p in sorted((corpus / "emails").iterdir()) if p.is_file()]


def ours(messages: list[bytes]) -> None:
    for raw in messages:
        parse(raw)


def ours_cold(messages: list[bytes]) -> None:
    # parse() memoises phrase matches of identical server replies across messages (real
    # bounce storms repeat them; the corpus also holds CRLF/CR copies). Cold = no reuse.
    for raw in messages:
        clear_cache()
        parse(raw)


def flufl(messages: list[bytes]) -> None:
    from flufl.bounce import scan_message

    for raw in messages:
        try:
            scan_message(email.message_from_bytes(raw))
        except Exception:  # flufl raises on some malformed samples; count the attempt anyway
            pass


def stdlib_only(messages: list[bytes]) -> None:
    for raw in messages:
        email.message_from_bytes(raw)


def timed(fn, messages: list[bytes]) -> float:
    # CPU time of this process, not wall time: the machine is shared (other sessions, CI),
    # and waiting for a core is not our parser's cost. Single-threaded, so the two agree on
    # an idle machine.
    started = time.process_time()
    fn(messages)
    return len(messages) / (time.process_time() - started)


def main(argv: list[str]) -> int:
    rounds = 9
    if "--rounds" in argv:
        rounds = int(argv[argv.index("--rounds") + 1])
    args = [a for a in argv if not a.startswith("--") and not a.isdigit()]
    corpus = Path(args[0]) if args else default_corpus()
    messages = load(corpus)
    # flufl.bounce logs a traceback for each detector that crashes on a sample; that output
    # is not what we measure.
    logging.disable(logging.CRITICAL)
    for fn in (stdlib_only, ours, ours_cold, flufl):  # warm-up: imports, regex compilation
        fn(messages)
    rates: dict[str, list[float]] = {"stdlib": [], "ours": [], "cold": [], "flufl": []}
    ratios, cold_ratios = [], []
    for _ in range(rounds):
        rates["stdlib"].append(timed(stdlib_only, messages))
        r_ours = timed(ours, messages)
        r_cold = timed(ours_cold, messages)
        r_flufl = timed(flufl, messages)
        rates["ours"].append(r_ours)
        rates["cold"].append(r_cold)
        rates["flufl"].append(r_flufl)
        ratios.append(r_ours / r_flufl)
        cold_ratios.append(r_cold / r_flufl)
    med = {k: statistics.median(v) for k, v in rates.items()}
    print(f"corpus: {corpus} ({len(messages)} files, {sum(map(len, messages)) / 1e6:.1f} MB), {rounds} rounds")
    print(f"stdlib compat32 parse only : {med['stdlib']:8.0f} msgs/s (median)")
    print(f"bounces.parser.parse       : {med['ours']:8.0f} msgs/s (median)")
    print(f"  same, memo cleared per msg: {med['cold']:7.0f} msgs/s (median)")
    print(f"flufl.bounce scan_message  : {med['flufl']:8.0f} msgs/s (median)")
    print(f"ratio ours/flufl           : {statistics.median(ratios):8.2f}x (median of per-round ratios)")
    print(f"ratio cold/flufl           : {statistics.median(cold_ratios):8.2f}x (median of per-round ratios)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
