"""RFC 3463 enhanced status codes and SMTP reply codes: what they say about an address."""
from __future__ import annotations

import re

from bounces.models import BounceCategory as Category

_STATUS_RE = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.]*\d)")
# A reply code stands at the start of a reply line or after "smtp;" (Mandrill, SES diagnostics).
_SMTP_RE = re.compile(r"(?:^|[\s;:(])([245][0-5]\d)(?=[\s\-]|$)")


def find_status(*texts: object) -> str:
    """The first enhanced status code (``5.1.1``) in the given texts, or ''."""
    for text in texts:
        if isinstance(text, str) and text:
            match = _STATUS_RE.search(text)
            if match:
                return ".".join(match.groups())
    return ""


def find_smtp_code(*texts: object) -> str:
    """The first SMTP reply code (``550``) in the given texts or ints, or ''."""
    for text in texts:
        if isinstance(text, int) and not isinstance(text, bool) and 200 <= text <= 599:
            return str(text)
        if isinstance(text, str) and text:
            match = _SMTP_RE.search(text)
            if match:
                return match.group(1)
    return ""


# (class, subject, detail) -> (category, Sisimai-style reason); detail None matches any.
_SPECIFIC = {
    ("5", "1", None): (Category.HARD, "userunknown"),
    ("5", "1", "2"): (Category.HARD, "hostunknown"),
    ("5", "1", "6"): (Category.HARD, "hasmoved"),
    ("5", "1", "10"): (Category.HARD, "notaccept"),
    ("5", "2", None): (Category.SOFT, "mailboxfull"),
    ("5", "2", "1"): (Category.HARD, "suspend"),  # mailbox disabled
    ("5", "2", "3"): (Category.SOFT, "exceedlimit"),
    ("5", "3", None): (Category.HARD, "systemerror"),  # SES sends 5.3.0 with "Transient"
    ("5", "3", "4"): (Category.SOFT, "mesgtoobig"),
    # 5.4.4 (unable to route) arrives from SES labelled "Transient", but the code is permanent
    # and the rule is: the status code first.
    ("5", "4", None): (Category.HARD, "hostunknown"),
    ("5", "4", "7"): (Category.SOFT, "expired"),
    ("5", "5", None): (Category.HARD, "rejected"),
    ("5", "6", None): (Category.SOFT, "contenterror"),
    # Policy and reputation blocks say nothing about the mailbox: suppressing on them would
    # drop good addresses because of our IP or content.
    ("5", "7", None): (Category.SOFT, "blocked"),
    ("5", "7", "13"): (Category.HARD, "suspend"),  # user account disabled
}


def status_verdict(status: str) -> tuple[str, str] | None:
    """(category, reason) a *specific* enhanced status code implies for a failed delivery.

    Returns None for success codes and for the generic 5.0.x codes (SendGrid sends 5.0.0 for
    every bounce, blocks included): those say only "permanent" and do not overrule the ESP's
    own finer label. Any 4.x.x, 4.0.0 included, is soft: a temporary status is never permanent,
    whatever the ESP's label says (SES has labelled 4.4.7 "Permanent").
    """
    parts = status.split(".") if status else []
    if len(parts) != 3 or parts[0] not in ("4", "5"):
        return None
    klass, subject, detail = parts
    if klass == "4":
        return (Category.SOFT, "mailboxfull" if subject == "2" else "")
    if subject == "0":
        return None
    return _SPECIFIC.get((klass, subject, detail)) or _SPECIFIC.get((klass, subject, None))


def generic_verdict(status: str, smtp_code: str) -> str | None:
    """The category a bare class says (5.0.0 / 550 -> hard, 4.x.x / 4xx -> soft), or None."""
    first = (status or smtp_code or " ")[0]
    return {"5": Category.HARD, "4": Category.SOFT}.get(first)
