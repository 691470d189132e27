"""Amazon SES notifications delivered by email (SNS email subscriptions): a JSON body.

Not a bounce *message* at all, but the same facts: bounced / complained / delivered
recipients with a DSN-like status and diagnostic.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

_DECODER = json.JSONDecoder()


@dataclass
class SesEvent:
    """One recipient from an SES notification."""

    kind: str  # "Bounce", "Complaint" or "Delivery"
    address: str
    action: str = ""
    status: str = ""
    diagnostic: str = ""
    feedback_type: str = ""
    remote_mta: str = ""


def find_events(text: str) -> list[SesEvent]:
    """Return the recipients of an SES JSON notification inside ``text``, or []."""
    i = text.find("notificationType")
    if i < 0:
        i = text.find("eventType")
        if i < 0:
            return []
    obj = None
    # The SNS envelope wraps the notification as an escaped string: try the outermost object
    # first, then the one that directly holds the field.
    for start in (text.find("{"), text.rfind("{", 0, i)):
        if start < 0 or start > i:
            continue
        try:
            obj, _ = _DECODER.raw_decode("".join(text[start:].split("\n")))
            break
        except ValueError:
            continue
    if obj is None:
        return []
    if isinstance(obj, dict) and isinstance(obj.get("Message"), str):  # SNS envelope
        try:
            obj = json.loads(obj["Message"])
        except ValueError:
            return []
    if not isinstance(obj, dict):
        return []
    kind = str(obj.get("notificationType") or obj.get("eventType") or "")
    out: list[SesEvent] = []
    if kind == "Bounce" and isinstance(obj.get("bounce"), dict):
        b = obj["bounce"]
        for r in b.get("bouncedRecipients") or []:
            if isinstance(r, dict) and r.get("emailAddress"):
                diag = str(r.get("diagnosticCode") or "")
                if ";" in diag[:12]:
                    diag = diag.split(";", 1)[1].strip()
                out.append(SesEvent("Bounce", str(r["emailAddress"]).lower(), str(r.get("action") or "failed"),
                                    str(r.get("status") or ""), diag))
    elif kind == "Complaint" and isinstance(obj.get("complaint"), dict):
        c = obj["complaint"]
        for r in c.get("complainedRecipients") or []:
            if isinstance(r, dict) and r.get("emailAddress"):
                out.append(SesEvent("Complaint", str(r["emailAddress"]).lower(),
                                    feedback_type=str(c.get("complaintFeedbackType") or "abuse")))
    elif kind == "Delivery" and isinstance(obj.get("delivery"), dict):
        d = obj["delivery"]
        for addr in d.get("recipients") or []:
            out.append(SesEvent("Delivery", str(addr).lower(), "delivered", "2.6.0",
                                str(d.get("smtpResponse") or ""), remote_mta=str(d.get("reportingMTA") or "")))
    return out
