"""Throughput of bounces.parser.parse() against flufl.bounce over the Sisimai corpus.

    python bench/bench_parser.py [CORPUS_DIR] [--rounds N]

Reads every corpus file into memory first, then times several rounds of each contender in the
same process and prints the median messages per second and the ratio. flufl.bounce only finds
failed addresses; parse() also classifies, so the comparison is conservative for us.
Needs requirements-bench.txt installed.
"""

from __future__ import annotations

import email
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bounces.parser import parse  # noqa: E402
from bounces.parser.accuracy import default_corpus  # noqa: E402


def load(corpus: Path) -> list[bytes]:
    return [p.read_bytes() for p in sorted((corpus / "emails").iterdir()) if p.is_file()]


def ours(messages: list[bytes]) -> None:
    for raw in messages:
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


def rate(fn, messages: list[bytes], rounds: int) -> float:
    fn(messages)  # warm-up: imports, regex compilation, caches
    results = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn(messages)
        results.append(len(messages) / (time.perf_counter() - started))
    return statistics.median(results)


def main(argv: list[str]) -> int:
    rounds = 7
    if "--rounds" in argv:
        rounds = int(argv[argv.index("--rounds") + 1])
    args = [a for a in argv if not a.startswith("--") and not a.isdigit()]
    corpus = Path(args[0]) if args else default_corpus()
    messages = load(corpus)
    print(f"corpus: {corpus} ({len(messages)} files, {sum(map(len, messages)) / 1e6:.1f} MB), {rounds} rounds")
    r_std = rate(stdlib_only, messages, rounds)
    r_ours = rate(ours, messages, rounds)
    r_flufl = rate(flufl, messages, rounds)
    print(f"stdlib compat32 parse only : {r_std:8.0f} msgs/s (median)")
    print(f"bounces.parser.parse       : {r_ours:8.0f} msgs/s (median)")
    print(f"flufl.bounce scan_message  : {r_flufl:8.0f} msgs/s (median)")
    print(f"ratio ours/flufl           : {r_ours / r_flufl:8.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
