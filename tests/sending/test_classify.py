"""The classifier's table and its extraction from smtplib's and Anymail's exceptions."""
import smtplib
import socket

import pytest
import requests
from anymail.exceptions import AnymailAPIError

from campaigns.delivery.classify import classify_anymail_status, classify_exception, classify_reply


@pytest.mark.parametrize("code,text,expected", [
    ("550", "5.1.1 <a@b.example>: Recipient address rejected: User unknown", ("hard", "userunknown", False)),
    ("550", "No such user here", ("hard", "userunknown", False)),
    ("452", "4.2.2 Over quota", ("soft", "mailboxfull", False)),
    ("421", "4.4.7 Delivery time expired", ("soft", "expired", False)),
    ("450", "4.7.1 Greylisted", ("transient", "blocked", False)),
    ("452", "4.5.3 Too many recipients", ("transient", "toomanyconn", True)),
    ("421", "4.7.0 Try again later", ("transient", "speeding", True)),
    ("554", "5.7.1 Message rejected as spam", ("transient", "spamdetected", False)),
    ("550", "5.9.9 something new", ("hard", "undefined", False)),
    ("451", "4.9.9 something new", ("transient", "undefined", False)),
])
def test_replies_are_classified_by_code_status_and_text(code, text, expected):
    found = classify_reply(code, text)
    assert (found.category, found.reason, found.throttle) == expected


def test_smtplib_exceptions_are_classified_from_their_per_recipient_codes():
    refused = smtplib.SMTPRecipientsRefused({"a@b.example": (550, b"5.1.1 User unknown"),
                                             "c@b.example": (452, b"4.2.2 Mailbox full")})
    assert classify_exception(refused, recipient="c@b.example").reason == "mailboxfull"
    assert classify_exception(smtplib.SMTPDataError(554, b"5.7.1 spam"), recipient="x").blocked
    sender = classify_exception(smtplib.SMTPSenderRefused(550, b"5.7.1 sender blocked", "us@x"), recipient="x")
    assert sender.category == "transient" and not sender.recipient_specific
    assert classify_exception(smtplib.SMTPServerDisconnected("gone"), recipient="x").category == "soft"
    assert classify_exception(socket.timeout("timed out"), recipient="x").detail == "timeout"
    assert classify_exception(ConnectionRefusedError(111, "refused"), recipient="x").reason == "networkerror"
    assert classify_exception(KeyError("bug"), recipient="x") is None


def http(status: int) -> requests.Response:
    """An ESP's HTTP answer as Anymail's errors carry it."""
    response = requests.Response()
    response.status_code, response.reason, response._content = status, "ESP says no", b"{}"
    return response


def test_anymail_errors_and_recipient_statuses_are_classified():
    limited = classify_exception(AnymailAPIError("slow down", status_code=429, response=http(429)), recipient="x")
    assert (limited.category, limited.reason, limited.recipient_specific) == ("transient", "speeding", False)
    assert classify_exception(AnymailAPIError("boom", status_code=502, response=http(502)), recipient="x").category == "transient"
    assert classify_anymail_status("sent") is None and classify_anymail_status("queued") is None
    assert classify_anymail_status("invalid").category == "hard"
    assert classify_anymail_status("rejected").reason == "suppressed"
    assert classify_anymail_status("failed").category == "transient"
