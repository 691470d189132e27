"""Notices from mailing-list managers that refused a post (fml).

Such a notice is not an MTA report: the list manager answers the poster with prose naming
the list address in angle brackets ("You are not a member of this mailing list <ml@host>.")
and quotes the post after "Original mail as follows:". The list address is the recipient
that failed; the prose (or, failing that, the Subject) says why.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import Message

from .message import clean_address, header, header_map

# (reason, phrases in the notice body) then (reason, phrases in its Subject); first match wins.
_BODY_REASONS = (
    ("rejected", ("you are not a member of this mailing list", "not member article from ",
                  "reject mail from ", "reject spammers:", " header may cause mail loop")),
    ("systemerror", ("duplicated message-id", " has detected a loop condition so that",
                     "loop back warning:")),
    ("securityerror", ("security alert:",)),
)
_SUBJECT_REASONS = (
    ("rejected", (" are not member", "not member article from ", "reject mail ",
                  "spam mail from a spammer is rejected")),
    ("systemerror", ("fml system error message", "loop alert: ", "loop back warning: ",
                     "warning: unix from loop")),
    ("securityerror", ("security alert",)),
)
_QUOTE_MARKER = "original mail as follows:"


@dataclass
class ListNotice:
    address: str  # the list address the post was refused by
    reason: str  # Sisimai reason, "onhold" when the notice says nothing we know
    text: str  # the notice's own words


def is_list_notice(msg: Message) -> bool:
    """fml marks its mail with X-MLServer and sends notices from the list's -admin address."""
    headers = header_map(msg)
    return "fml" in headers.get("x-mlserver", "").lower() and "-admin@" in headers.get("from", "").lower()


def find_notice(msg: Message, body: str) -> list[ListNotice]:
    """The list addresses a notice names, each with its reason; [] when it names none."""
    if not is_list_notice(msg):
        return []
    low = body.lower()
    cut = low.find(_QUOTE_MARKER)
    head = body[: cut if cut >= 0 else 8000]
    out: list[ListNotice] = []
    for line in head.split("\n"):
        start, end = line.find("<"), line.rfind(">")
        if 0 <= start < end:
            addr = clean_address(line[start + 1:end])
            if addr and addr not in {n.address for n in out}:
                out.append(ListNotice(addr, "", " ".join(line.split())))
    if not out:
        return []
    text = " ".join(head.lower().split())
    subject = header(msg, "Subject").lower()
    reason = next((r for r, phrases in _BODY_REASONS if any(p in text for p in phrases)), "") or next(
        (r for r, phrases in _SUBJECT_REASONS if any(p in subject for p in phrases)), "onhold")
    for notice in out:
        notice.reason = reason
    return out
