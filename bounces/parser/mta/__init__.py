"""MTA family detection: which software wrote a bounce.

A data table, one row per family: header and body signatures. Detection only names the family
(``BounceReport.mta``); the parsing itself is general.
"""

from __future__ import annotations

from email.message import Message

from ..message import header_map

# (family, header name or "" for body, lower-case substring). First match wins, so the more
# specific signatures come first.
SIGNATURES: tuple[tuple[str, str, str], ...] = (
    ("amazonses", "x-aws-outgoing", ""),
    ("amazonses", "x-ses-outgoing", ""),
    ("amazonses", "from", "amazonses.com"),
    ("amazonworkmail", "x-mailer", "amazon workmail"),
    ("sendgrid", "return-path", "sendgrid"),
    ("sendgrid", "from", "sendgrid"),
    ("googlegroups", "x-failed-recipients", "@googlegroups.com"),
    ("gmail", "from", "mailer-daemon@googlemail.com"),
    ("gmail", "from", "@google.com"),
    ("office365", "x-ms-exchange-crosstenant-originalarrivaltime", ""),
    ("office365", "x-ms-exchange-transport-crosstenantheadersstamped", ""),
    ("outlook", "x-message-delivery", ""),
    ("outlook", "from", "postmaster@hotmail"),
    ("outlook", "from", "postmaster@outlook"),
    ("exchange2007", "content-language", ""),
    ("exchange2003", "x-mimeole", "exchange"),
    ("exchange2003", "x-mailer", "internet mail service"),
    ("yahoo", "x-ymailisg", ""),
    ("yahoo", "from", "mailer-daemon@yahoo"),
    ("mailru", "from", "mailer-daemon@corp.mail.ru"),
    ("mailru", "from", "@mail.ru"),
    ("yandex", "x-yandex-uniq", ""),
    ("gmx", "envelope-to", ""),
    ("zoho", "x-zohomail", ""),
    ("mcafee", "x-nai-header", ""),
    ("mfilter", "from", "mfilter"),
    ("notes", "x-notes-item", ""),
    ("domino", "x-mimetrack", ""),
    ("messagingserver", "content-type", "multipart/report; report-type=delivery-status; boundary=\"boundary_"),
    ("ezweb", "from", "ezweb.ne.jp"),
    ("kddi", "from", "kddi"),
    ("biglobe", "from", "biglobe.ne.jp"),
    ("verizon", "from", "verizon"),
    ("postfix", "", "this is the mail system at host"),
    ("postfix", "", "postfix"),
    ("exim", "x-failed-recipients", ""),
    ("exim", "", "this message was created automatically by mail delivery software"),
    ("qmail", "", "this is the qmail-send program"),
    ("qmail", "", "qmail"),
    ("dragonfly", "", "dragonfly mail agent"),
    ("opensmtpd", "", "this is the mailer-daemon at"),
    ("opensmtpd", "", "opensmtpd"),
    ("courier", "", "courier mail server"),
    ("courier", "", "courier"),
    ("groupwise", "", "groupwise"),
    ("domino", "", "lotus domino"),
    ("imailserver", "x-mailer", "imail"),
    ("powermta", "", "powermta"),
    ("apachejames", "", "apache james"),
    ("exchange", "", "microsoft exchange"),
    ("exchange", "", "microsoft mail"),
    ("sendmail", "", "----- transcript of session follows -----"),
    ("sendmail", "", "----- the following addresses had permanent fatal errors -----"),
    ("sendmail", "", "the original message was received at"),
)


# Families whose every bounce means one thing, whatever the (localised) text says.
FAMILY_REASON = {
    "googlegroups": "rejected",  # "you may not post to this group": the sender is refused
}


def detect(msg: Message, body_low: str) -> str | None:
    """Return the family name of the MTA that wrote ``msg``, or None when unknown."""
    headers = header_map(msg)
    for family, name, needle in SIGNATURES:
        if name:
            value = headers.get(name)
            if not value:
                continue
            if not needle or needle in value.lower():
                return family
        elif needle in body_low:
            return family
    return None
