"""Bounce variants the Sisimai corpus under-represents, one hand-written sample each.

The samples in ``samples/`` follow documented formats (RFC 3464/6533 examples, Postfix's and
Exim's bounce templates, qmail's, Microsoft's and Gmail's notifications) with our own
addresses. Each test names the behaviour a sender depends on: exactly which addresses failed,
why, and whether the address is gone for good.
"""

from pathlib import Path

import pytest

from bounces.parser import Kind, parse

SAMPLES = Path(__file__).with_name("samples")


def parsed(name: str):
    return parse((SAMPLES / name).read_bytes())


def outcome(report) -> dict[str, tuple[str, str, bool]]:
    """address -> (status, reason, hard)"""
    return {r.address: (r.status, r.reason, r.hard) for r in report.recipients}


# --- RFC 3464 reports with several, missing or unusable recipient fields --------------------


def test_postfix_report_with_two_recipients_gives_each_its_own_reason_and_skips_the_cc():
    report = parsed("postfix-two-recipients-mixed.eml")
    assert report.kind == Kind.BOUNCE
    assert outcome(report) == {
        "anna.berg@example.org": ("5.1.1", "userunknown", True),
        "ben.okafor@example.org": ("5.2.2", "mailboxfull", False),
    }
    assert report.correlation == "msg-0717"
    assert report.verp_token == "lead17.c3"


def test_report_with_only_an_original_recipient_field_names_that_address():
    report = parsed("dsn-original-recipient-only.eml")
    assert outcome(report) == {"greta.holm@example.se": ("5.1.1", "userunknown", True)}


def test_local_only_final_recipient_gives_way_to_the_address_we_sent_to():
    report = parsed("postfix-local-final-recipient.eml")
    assert outcome(report) == {"sales-team@example.org": ("5.1.1", "userunknown", True)}


def test_exchange_x500_final_recipient_is_replaced_by_the_original_recipient():
    report = parsed("exchange-x500-final-recipient.eml")
    assert outcome(report) == {"jonas.weber@corp.example.com": ("5.1.1", "userunknown", True)}


def test_gmail_report_without_final_recipient_takes_status_from_its_delivery_status_block():
    report = parsed("gmail-dsn-without-final-recipient.eml")
    assert outcome(report) == {"nora.ahmed@example.com": ("5.1.1", "userunknown", True)}
    assert report.recipients[0].smtp_code == "550"


def test_global_delivery_status_reads_utf8_and_escaped_utf8_addresses():
    report = parsed("global-dsn-utf8-addresses.eml")
    assert outcome(report) == {
        "用户@例子.广告": ("5.1.1", "userunknown", True),
        "δοκιμή@παράδειγμα.δοκιμή": ("5.2.2", "mailboxfull", False),
    }


# --- prose reports ---------------------------------------------------------------------------


def test_exim_report_fails_every_x_failed_recipient_and_none_of_the_quoted_to_and_cc():
    report = parsed("exim-two-failed-recipients.eml")
    assert outcome(report) == {
        "olivia.hart@example.co.uk": ("5.1.1", "userunknown", True),
        "pete.nolan@example.net": ("5.2.2", "mailboxfull", False),
    }


def test_bounce_quoting_the_original_with_gt_marks_names_only_the_failed_recipient():
    report = parsed("plain-bounce-quoting-original-with-gt.eml")
    assert outcome(report) == {"rosa.bianchi@example.it": ("5.1.1", "userunknown", True)}


def test_unmarked_short_quote_of_the_original_headers_adds_no_recipients():
    report = parsed("plain-bounce-unmarked-short-quote.eml")
    assert {a: reason for a, (_, reason, _) in outcome(report).items()} == {"sophie.tremblay@example.ca": "mailboxfull"}


def test_base64_encoded_qmail_notification_is_decoded_before_reading():
    report = parsed("qmail-base64-notification.eml")
    assert outcome(report) == {"kai.nordin@example.net": ("5.1.1", "userunknown", True)}
    assert report.message_id == "demo-61@lockline.example"


def test_quoted_printable_delivery_status_with_soft_line_breaks_is_decoded():
    report = parsed("dsn-quoted-printable-parts.eml")
    assert outcome(report) == {"zofia.nowak@example.pl": ("5.2.2", "mailboxfull", False)}
    assert "storage quota assigned to this account" in report.recipients[0].diagnostic


def test_office365_ndr_with_only_an_html_part_names_the_recipient_but_not_the_quoted_cc():
    report = parsed("office365-html-only-ndr.eml")
    assert report.kind == Kind.BOUNCE
    assert outcome(report) == {"maya.lee@contoso.com": ("5.1.10", "userunknown", True)}


@pytest.mark.parametrize("language,unknown,full", [
    ("de", "lena.schmidt@example.de", "tom.mueller@example.de"),
    ("fr", "claire.martin@example.fr", "julien.petit@example.fr"),
    ("es", "lucia.garcia@example.es", "pablo.ruiz@example.es"),
    ("pt", "joao.silva@example.com.br", "maria.souza@example.com.br"),
    ("it", "giulia.rossi@example.it", "luca.ferrari@example.it"),
    ("nl", "sanne.devries@example.nl", "bram.jansen@example.nl"),
    ("ja", "haruto.sato@example.jp", "yui.tanaka@example.jp"),
])
def test_localised_report_says_which_recipient_is_unknown_and_which_mailbox_is_full(language, unknown, full):
    report = parsed(f"prose-{language}-unknown-and-full.eml")
    assert report.kind == Kind.BOUNCE
    assert {a: (reason, hard) for a, (_, reason, hard) in outcome(report).items()} == {
        unknown: ("userunknown", True),
        full: ("mailboxfull", False),
    }
    assert report.message_id == f"prop-{language}@lockline.example"


def test_iso_2022_jp_report_is_decoded_and_read_like_any_other_language():
    report = parsed("prose-ja-iso2022jp-unknown.eml")
    assert {a: (reason, hard) for a, (_, reason, hard) in outcome(report).items()} == {
        "ren.kobayashi@example.ne.jp": ("userunknown", True)}
