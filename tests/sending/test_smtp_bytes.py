"""Our SMTP backend builds the same envelope and the same message bytes as Django's, cheaper."""
import smtplib
import string
from email._policybase import compat32

import pytest
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.smtp import EmailBackend as DjangoSMTPBackend
from django.core.mail.message import sanitize_address
from hypothesis import example, given, settings as hypothesis_settings, strategies as st

from campaigns.delivery.compose import message_email
from campaigns.delivery.smtp import SHORT_HEADERS_AS_IS, EmailBackend, _plain_address, _quoteaddr
from tests.sending.conftest import running_message


class _Recorder:
    """Stands in for the SMTP connection: keeps what the backend hands to sendmail."""

    def __init__(self):
        self.calls = []

    def sendmail(self, from_addr, to_addrs, msg):
        self.calls.append((from_addr, to_addrs, msg))


def envelope_and_bytes(backend_send, email) -> tuple:
    backend = EmailBackend(host="127.0.0.1", port=25)
    backend.connection = _Recorder()
    backend_send(backend, email)
    [call] = backend.connection.calls
    return call


DATE = {"Date": "Fri, 27 Nov 2026 12:00:00 +0000", "Message-ID": "<fixed@lockline.test>"}
EMAILS = [
    EmailMessage("Acme: a quick question", "Hi Ada,\n\nplain text.\n", "outreach@lockline.test",
                 ["ada@acme.example"], headers=DATE),
    EmailMessage("Ünïcode subject that is long enough to need folding across more than one line " * 2,
                 "Grüße, Ada — ça va?\n" * 40, '"Lockline, Sales" <outreach@lockline.test>',
                 ["Ada Lovelace <ada@acme.example>", "josé@bücher.example"], headers=DATE),
    EmailMessage("x", "y", "bounces+tok.en_1@lockline.test", ["o'brien+tag@mail.acme.example"],
                 headers={**DATE, "List-Unsubscribe": "<https://lockline.test/u/" + "a" * 120 + ">, <mailto:u@x>",
                          "X-Spaces": "  two  spaces\tand a tab  "}),
]


@pytest.mark.parametrize("email", EMAILS, ids=["plain", "unicode-and-folding", "long-headers"])
def test_the_backend_hands_smtp_exactly_what_djangos_backend_would(email):
    assert envelope_and_bytes(EmailBackend._send, email) == envelope_and_bytes(DjangoSMTPBackend._send, email)


@pytest.mark.django_db
def test_a_lockline_message_is_built_byte_for_byte_as_django_builds_it(settings):
    message = running_message("grace.hopper@navy.example")
    email = message_email(message, connection=get_connection())
    email.extra_headers["Date"] = DATE["Date"]
    assert envelope_and_bytes(EmailBackend._send, email) == envelope_and_bytes(DjangoSMTPBackend._send, email)


header_names = st.sampled_from(["To", "Subject", "From", "List-Unsubscribe", "Feedback-ID", "X-Lockline-Message-ID"])
_printable = string.printable.replace("\r", "").replace("\n", "").replace("\x0b", "").replace("\x0c", "")
# Words and runs of blanks (where folding may break a line), around the 78-character limit.
ascii_text = st.lists(st.text(alphabet=_printable.replace(" ", "").replace("\t", ""), max_size=14)
                      | st.sampled_from([" ", "  ", "\t", ""]), max_size=16).map(" ".join) | st.text(_printable, max_size=90)


@hypothesis_settings(max_examples=1000, deadline=None)
@given(name=header_names, value=ascii_text, linesep=st.sampled_from(["\n", "\r\n"]))
def test_a_header_is_folded_exactly_as_the_email_package_folds_it(name, value, linesep):
    assert (SHORT_HEADERS_AS_IS.clone(linesep=linesep)._fold(name, value, True)
            == compat32.clone(linesep=linesep)._fold(name, value, True))


atext = string.ascii_letters + string.digits + "!#$%&'*+/=?^_`{|}~-"
local_parts = st.lists(st.text(alphabet=atext, min_size=1, max_size=8), min_size=1, max_size=3).map(".".join)
hosts = st.sampled_from(["acme.example", "a-b.co", "lockline.test", "mx1.mail.example"])


@hypothesis_settings(max_examples=1000, deadline=None)
@given(address=st.builds("{}@{}".format, local_parts, hosts) | st.text(max_size=30))
@example(address="<>")  # Django's sanitize_address raises TypeError on it: ours must do the same
def test_an_address_is_sanitized_and_quoted_exactly_as_django_and_smtplib_do(address):
    assert outcome(_plain_address, address, "utf-8") == outcome(sanitize_address, address, "utf-8")
    assert _quoteaddr(address) == smtplib.quoteaddr(address)


def outcome(function, *args):
    """What a call returns, or the type of exception it raises."""
    try:
        return function(*args)
    except Exception as exc:  # noqa: BLE001 - the kind of failure is what is compared
        return type(exc)
