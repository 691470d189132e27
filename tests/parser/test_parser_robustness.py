"""parse() never raises and stays fast, whatever bytes it is given."""

import random
import re
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bounces.parser import BounceReport, Kind, parse
from bounces.parser.engine import INTERNAL_ERROR_PREFIX

# ../shared/corpus/sisimai relative to the project root (this file's grandparent); a git
# worktree may sit one level deeper than the main checkout, so ancestors are tried too.
PROJECT_ROOT = Path(__file__).resolve().parents[2]
CORPUS = next((base / "shared" / "corpus" / "sisimai" for base in PROJECT_ROOT.parents
               if (base / "shared" / "corpus" / "sisimai" / "emails").is_dir()), None)
EMAILS = sorted((CORPUS / "emails").glob("*")) if CORPUS else []
# A fixed, varied handful keeps the mutation tests quick; the corpus test reads them all.
SAMPLES = [p.read_bytes() for p in EMAILS[:: max(1, len(EMAILS) // 60)]] or [
    b"From: MAILER-DAEMON\nSubject: failure\n\n<x@example.org>: 550 5.1.1 user unknown\n"]

sample = st.sampled_from(SAMPLES)
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def assert_is_report(report):
    assert isinstance(report, BounceReport)
    # parse() turns its own exceptions into parse_error; none should happen at all.
    assert not (report.parse_error or "").startswith(INTERNAL_ERROR_PREFIX), report.parse_error
    assert report.kind in (Kind.BOUNCE, Kind.DELAY, Kind.COMPLAINT, Kind.AUTO_REPLY, Kind.NOT_BOUNCE)
    report.to_dict()


@SETTINGS
@given(raw=st.binary(max_size=4096))
def test_random_bytes_never_raise(raw):
    assert_is_report(parse(raw))


@SETTINGS
@given(raw=sample, cut=st.floats(min_value=0.0, max_value=1.0))
def test_truncated_corpus_messages_never_raise(raw, cut):
    assert_is_report(parse(raw[: int(len(raw) * cut)]))


@SETTINGS
@given(raw=sample, codec=st.sampled_from(["utf-16", "latin-1", "cp1252", "iso2022_jp", "utf-32"]))
def test_re_encoded_corpus_messages_never_raise(raw, codec):
    text = raw.decode("latin-1")
    assert_is_report(parse(text.encode(codec, errors="replace")))


@SETTINGS
@given(raw=sample, seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_shuffled_and_duplicated_lines_never_raise(raw, seed):
    rng = random.Random(seed)
    lines = re.split(rb"\r\n|\r|\n", raw)
    for _ in range(rng.randint(1, 8)):
        if not lines:
            break
        i = rng.randrange(len(lines))
        op = rng.random()
        if op < 0.4:
            lines.insert(rng.randrange(len(lines) + 1), lines[i])  # duplicate a field or line
        elif op < 0.8:
            j = rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]  # shuffle
        else:
            del lines[i]
    assert_is_report(parse(b"\n".join(lines)))


@SETTINGS
@given(raw=sample, noise=st.binary(min_size=1, max_size=256), where=st.floats(min_value=0, max_value=1))
def test_random_bytes_spliced_into_corpus_messages_never_raise(raw, noise, where):
    at = int(len(raw) * where)
    assert_is_report(parse(raw[:at] + noise + raw[at:]))


@pytest.mark.parametrize("body", [
    b"a" * (10 * 1024 * 1024),  # one endless line of address characters, no '@'
    (b"x" * 60 + b"@") * (170 * 1024),  # endless near-addresses
    b"<" * (10 * 1024 * 1024),  # endless unclosed tags
    b"550 5.1.1 " * (1024 * 1024),  # endless codes
    b"user@example.com\n" * (640 * 1024),  # endless recipients
    b"--b\nContent-Type: text/plain\n\nx\n" * (350 * 1024),  # a multipart bomb
])
def test_a_10_mb_pathological_message_parses_within_a_second(body):
    raw = (b"From: MAILER-DAEMON@example.net\nSubject: Undelivered Mail Returned to Sender\n"
           b"Content-Type: multipart/report; boundary=b\n\n") + body
    assert len(raw) >= 10 * 1024 * 1024
    started = time.perf_counter()
    report = parse(raw)
    elapsed = time.perf_counter() - started
    assert_is_report(report)
    assert elapsed < 1.0, f"took {elapsed:.2f}s"
