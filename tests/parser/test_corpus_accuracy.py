"""Accuracy floors over the Sisimai corpus, so that regressions fail loudly."""

from pathlib import Path

import pytest

from bounces.parser.accuracy import load_rows, score_file, summarise

# ../shared/corpus/sisimai relative to the project root (this file's grandparent); a git
# worktree may sit one level deeper than the main checkout, so ancestors are tried too.
PROJECT_ROOT = Path(__file__).resolve().parents[2]
CORPUS = next((base / "shared" / "corpus" / "sisimai" for base in PROJECT_ROOT.parents
               if (base / "shared" / "corpus" / "sisimai" / "expected.jsonl").exists()), None)

pytestmark = pytest.mark.skipif(CORPUS is None, reason="shared Sisimai corpus not available")

# Floors sit a little below what the parser scores today (python -m bounces.parser.accuracy):
# family -> (recipients %, hard %, reasons %).
FAMILY_FLOORS = {
    "lhost-postfix": (95.0, 94.0, 90.0),
    "lhost-sendmail": (98.0, 98.0, 95.0),
    "lhost-exim": (98.0, 95.0, 90.0),
    "lhost-qmail": (98.0, 98.0, 92.0),
    "lhost-gmail": (98.0, 98.0, 80.0),
    "lhost-dragonfly": (98.0, 98.0, 93.0),
    "lhost-yahoo": (98.0, 98.0, 95.0),
    "rfc3464": (95.0, 95.0, 88.0),
    "arf": (98.0, 98.0, 90.0),
    # families whose provider or MTA rules live in providers.py / listnotice.py / autoreply.py
    "rhost-cox": (98.0, 98.0, 95.0),
    "rhost-spectrum": (98.0, 98.0, 95.0),
    "rhost-mimecast": (98.0, 98.0, 95.0),
    "rhost-messagelabs": (98.0, 98.0, 95.0),
    "rhost-franceptt": (98.0, 98.0, 95.0),
    "lhost-powermta": (98.0, 98.0, 95.0),
    "lhost-verizon": (98.0, 98.0, 95.0),
    "lhost-fml": (98.0, 98.0, 95.0),
    "lhost-x5": (98.0, 98.0, 95.0),
}


@pytest.fixture(scope="module")
def scores():
    return [score_file(CORPUS / row["file"], row) for row in load_rows(CORPUS)]


def test_no_corpus_message_makes_the_parser_fail(scores):
    assert [s.file for s in scores if s.raised] == []


def test_overall_accuracy_stays_above_the_floor(scores):
    overall = summarise(scores)["overall"]
    # The targets: recipients >= 98 %, hard/soft >= 97 %, reasons >= 90 %.
    assert overall["recipients"] >= 98.0
    assert overall["hard"] >= 97.0
    assert overall["reasons"] >= 90.0


@pytest.mark.parametrize("family,floors", sorted(FAMILY_FLOORS.items()))
def test_family_accuracy_stays_above_its_floor(scores, family, floors):
    fam = summarise([s for s in scores if s.family == family])["overall"]
    assert fam["files"] > 0
    assert all(
        got >= floor for got, floor in zip((fam["recipients"], fam["hard"], fam["reasons"]), floors)), fam
