"""RFC 3834 auto-responses: vacation, out-of-office and friends."""

from __future__ import annotations

import re
from email.message import Message

from .message import header

# Subjects auto-responders use; anchored at the start to avoid matching replies that quote them.
_SUBJECT_RE = re.compile(
    r"^\s*(auto(matic)?[ -]?(reply|response|antwort|respuesta|r[ée]ponse)|auto:|"
    r"out of (the )?office|vacation|away from|abwesenheit|absence|abwesend|"
    r"r[ée]ponse automatique|risposta automatica|自動応答|自動返信|不在|"
    # es, pt, it, nl, fr
    r"respuesta autom[áa]tica|fuera de la oficina|resposta autom[áa]tica|aus[êe]ncia|"
    r"fora do escrit[óo]rio|fuori (sede|ufficio)|automatisch antwoord|afwezig|absent du bureau)",
    re.IGNORECASE,
)


def is_auto_reply(msg: Message) -> bool:
    """True when the headers or subject mark ``msg`` as an automatic response.

    ``Auto-Submitted: auto-generated`` is not enough on its own: MTAs put it on bounces too.
    """
    auto = header(msg, "Auto-Submitted").lower()
    if auto.startswith("auto-replied"):
        return True
    for name in ("X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress-Reply", "X-Vacation"):
        if header(msg, name):
            return True
    if header(msg, "Precedence").lower() == "auto_reply":
        return True
    return bool(_SUBJECT_RE.search(header(msg, "Subject")))


# An automatic answer that says the mailbox itself is gone or no longer read: the address is
# suspended, not on holiday (Sisimai's "suspend"). Lower-case, single-spaced substrings.
_MAILBOX_GONE = (
    "is no longer in use", "is no longer active", "is no longer monitored",
    "no longer exists", "has been deactivated", "is no longer valid",
    "ist nicht mehr aktiv", "wird nicht mehr gelesen", "n'est plus utilis", "n'est plus active",
    "ya no está en uso", "ya no esta en uso", "não está mais em uso", "non è più attiv",
    "is niet meer in gebruik",
)


def reason_of(body: str) -> str:
    """'suspend' when an auto-reply says its mailbox is out of use, else 'vacation'."""
    text = " ".join(body[:4000].lower().split())
    return "suspend" if any(p in text for p in _MAILBOX_GONE) else "vacation"
