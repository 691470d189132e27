"""Accuracy floors over the Sisimai corpus, so that regressions fail loudly."""

import pytest

from bounces.parser.accuracy import default_corpus, load_rows, score_file, summarise

# ../shared/corpus/sisimai relative to the project root (see default_corpus()).
CORPUS = default_corpus() if (default_corpus() / "expected.jsonl").exists() else None

pytestmark = pytest.mark.skipif(CORPUS is None, reason="shared Sisimai corpus not available")

# Floors sit a little below what the parser scores today (see accuracy.py output).
FAMILY_FLOORS = {
    "lhost-postfix": 90.0,
    "lhost-sendmail": 85.0,
    "lhost-exim": 85.0,
    "lhost-qmail": 85.0,
    "rfc3464": 80.0,
    "arf": 90.0,
}


@pytest.fixture(scope="module")
def scores():
    return [score_file(CORPUS / row["file"], row) for row in load_rows(CORPUS)]


def test_no_corpus_message_makes_the_parser_fail(scores):
    assert [s.file for s in scores if s.raised] == []


def test_overall_accuracy_stays_above_the_floor(scores):
    overall = summarise(scores)["overall"]
    assert overall["recipients"] >= 95.0
    assert overall["hard"] >= 93.0
    assert overall["reasons"] >= 85.0


@pytest.mark.parametrize("family,floor", sorted(FAMILY_FLOORS.items()))
def test_family_reason_accuracy_stays_above_its_floor(scores, family, floor):
    fam = summarise([s for s in scores if s.family == family])["overall"]
    assert fam["files"] > 0
    assert fam["recipients"] >= floor and fam["reasons"] >= floor - 10
