"""Plain cases for parse() and classify(), one behaviour per test."""

from bounces.parser import BounceReport, Kind, classify, parse

SEED = b"""\
From: MAILER-DAEMON@mx.example.net (Mail Delivery System)
To: bounces+lead42.c7@mail.lockline.example
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="BOUNDARY"

--BOUNDARY
Content-Type: text/plain

I'm sorry to have to inform you that your message could not be delivered.

--BOUNDARY
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net

Final-Recipient: rfc822; Nobody@Example.ORG
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 <nobody@example.org>: Recipient address rejected:
    User unknown in virtual mailbox table

--BOUNDARY
Content-Type: message/rfc822

From: sales@lockline.example
To: nobody@example.org
Subject: Hello there
Message-ID: <abc123@lockline.example>
X-Lockline-Message-ID: msg-0001

Hi!
--BOUNDARY--
"""


def test_seed_case_finds_the_recipient_as_a_hard_userunknown_bounce():
    report = parse(SEED)
    assert report.kind == Kind.BOUNCE
    assert [r.address for r in report.recipients] == ["nobody@example.org"]
    rcpt = report.recipients[0]
    assert (rcpt.status, rcpt.smtp_code, rcpt.reason, rcpt.category, rcpt.hard) == (
        "5.1.1", "550", "userunknown", "hard", True)
    assert rcpt.action == "failed"
    assert "  " not in rcpt.diagnostic


def test_seed_case_carries_the_original_ids_and_the_verp_token():
    report = parse(SEED)
    assert report.message_id == "abc123@lockline.example"
    assert report.correlation == "msg-0001"
    assert report.verp_token == "lead42.c7"
    assert report.original_subject == "Hello there"


def test_crlf_and_cr_line_endings_parse_like_lf():
    for eol in (b"\r\n", b"\r"):
        report = parse(SEED.replace(b"\n", eol))
        assert [(r.address, r.reason) for r in report.recipients] == [("nobody@example.org", "userunknown")]


def test_delay_warning_is_a_delay_and_not_hard():
    raw = SEED.replace(b"Action: failed", b"Action: delayed").replace(
        b"Status: 5.1.1", b"Status: 4.4.1").replace(
        b"Diagnostic-Code: smtp; 550 5.1.1 <nobody@example.org>: Recipient address rejected:\n    User unknown in virtual mailbox table",
        b"Diagnostic-Code: smtp; 451 4.4.1 connect to mx.example.org: Connection timed out")
    report = parse(raw)
    assert report.kind == Kind.DELAY
    rcpt = report.recipients[0]
    assert rcpt.action == "delayed"
    assert rcpt.hard is False and rcpt.category != "hard"


ARF = b"""\
From: staff@hotmail.example
To: fbl@lockline.example
Subject: complaint about message
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="B"

--B
Content-Type: text/plain

This is an email abuse report.

--B
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: SomeGenerator/1.0
Version: 1
Original-Rcpt-To: <complainer@hotmail.example>

--B
Content-Type: text/rfc822-headers

From: sales@lockline.example
To: complainer@hotmail.example
Message-ID: <m-9@lockline.example>
X-Lockline-Message-ID: msg-0009

--B--
"""


def test_arf_report_is_a_complaint_with_reason_feedback():
    report = parse(ARF)
    assert report.kind == Kind.COMPLAINT
    assert report.feedback_type == "abuse"
    assert [(r.address, r.reason, r.category, r.hard) for r in report.recipients] == [
        ("complainer@hotmail.example", "feedback", "complaint", False)]
    assert report.correlation == "msg-0009"
    assert report.message_id == "m-9@lockline.example"


def test_auto_reply_is_an_auto_reply_with_no_failed_recipients():
    raw = (b"From: Jane <jane@example.com>\nTo: sales@lockline.example\n"
           b"Subject: Out of Office: Hello there\nAuto-Submitted: auto-replied\n\n"
           b"I am out of the office until Monday.\n")
    report = parse(raw)
    assert report.kind == Kind.AUTO_REPLY
    assert report.failed == []
    assert [r.reason for r in report.recipients] == ["vacation"]


def test_ordinary_mail_is_not_a_bounce():
    raw = (b"From: Jane <jane@example.com>\nTo: sales@lockline.example\nSubject: Re: Hello\n\n"
           b"Thanks, call me at bob@example.com tomorrow.\n")
    report = parse(raw)
    assert report.kind == Kind.NOT_BOUNCE
    assert report.recipients == []
    assert report.parse_error is None


def test_empty_input_is_not_a_bounce_with_a_parse_error():
    report = parse(b"")
    assert isinstance(report, BounceReport)
    assert report.kind == Kind.NOT_BOUNCE and report.parse_error


def test_qmail_style_text_bounce_is_read_without_a_dsn():
    raw = (b"From: MAILER-DAEMON@mx.example.jp\nTo: bounces+tok@lockline.example\n"
           b"Subject: failure notice\n\n"
           b"Hi. This is the qmail-send program at mx.example.jp.\n"
           b"I'm afraid I wasn't able to deliver your message to the following addresses.\n\n"
           b"<gone@example.org>:\n192.0.2.1 does not like recipient.\n"
           b"Remote host said: 550 5.1.1 <gone@example.org>: Recipient address rejected: User unknown\n"
           b"Giving up on 192.0.2.1.\n\n"
           b"--- Below this line is a copy of the message.\n\n"
           b"From: sales@lockline.example\nTo: gone@example.org\nMessage-ID: <q1@lockline.example>\n\nHi\n")
    report = parse(raw)
    assert report.kind == Kind.BOUNCE
    assert report.mta == "qmail"
    assert [(r.address, r.reason, r.hard) for r in report.recipients] == [("gone@example.org", "userunknown", True)]
    assert report.message_id == "q1@lockline.example"
    assert report.verp_token == "tok"


def test_to_dict_is_json_ready():
    import json

    data = parse(SEED).to_dict()
    assert json.loads(json.dumps(data))["recipients"][0]["reason"] == "userunknown"


def test_classify_550_5_1_1_is_a_hard_userunknown():
    assert classify("5.1.1", "550", "User unknown") == ("userunknown", "hard", "", True)


def test_classify_a_5xx_block_is_soft_not_hard():
    reason, category, _, hard = classify("5.7.1", "554", "Service unavailable; client host blocked using zen.spamhaus.org")
    assert (reason, category, hard) == ("blocked", "soft", False)


def test_classify_greylisting_is_transient():
    reason, category, detail, hard = classify("4.7.1", "450", "Recipient address rejected: Greylisted, try again later")
    assert (category, detail, hard) == ("transient", "greylisted", False)


def test_classify_rate_limits_and_throttling_are_transient():
    assert classify("4.7.28", "421", "Our system has detected an unusual rate of unsolicited mail")[1] == "transient"
    assert classify("4.5.3", "452", "Too many recipients")[1] == "transient"
    assert classify("4.7.0", "421", "Try again later, closing connection")[1] == "transient"


def test_classify_a_mailbox_full_is_soft():
    assert classify("5.2.2", "552", "Mailbox full")[:2] == ("mailboxfull", "soft")


def test_classify_reads_codes_from_the_text_when_not_given():
    assert classify("", "", "550 5.1.1 <x@example.org>... User Unknown")[0] == "userunknown"


def test_classify_notaccept_is_hard_only_with_a_5xx_code():
    assert classify("5.1.10", "556", "Recipient address has null MX")[3] is True
    assert classify("4.3.2", "453", "System not accepting network messages")[3] is False


def test_a_dsn_without_the_original_still_names_its_message_id():
    raw = (b"From: MAILER-DAEMON@x.example\nTo: bounces+abc@lockline.example\n"
           b"Subject: Delivery Status Notification\n"
           b"Content-Type: multipart/report; report-type=delivery-status; boundary=B\n\n"
           b"--B\nContent-Type: message/delivery-status\n\n"
           b"Reporting-MTA: dns; x.example\nX-Original-Message-ID: <orig-1@lockline.example>\n\n"
           b"Final-Recipient: rfc822; a@b.example\nAction: failed\nStatus: 5.1.1\n\n--B--\n")
    report = parse(raw)
    assert report.message_id == "orig-1@lockline.example"
    assert report.verp_token == "abc"
    assert [(r.address, r.reason, r.category) for r in report.recipients] == [("a@b.example", "userunknown", "hard")]


def test_a_dsn_without_a_status_field_is_read_from_its_diagnostic_code():
    raw = (b"From: MAILER-DAEMON@x.example\nSubject: Returned mail\n"
           b"Content-Type: multipart/report; report-type=delivery-status; boundary=B\n\n"
           b"--B\nContent-Type: text/plain\n\nDelivery failed.\n\n"
           b"--B\nContent-Type: message/delivery-status\n\n"
           b"Reporting-MTA: dns; x.example\n\n"
           b"Final-Recipient: rfc822; full@b.example\nAction: failed\n"
           b"Diagnostic-Code: smtp; 552 5.2.2 Mailbox full\n\n--B--\n")
    rcpt = parse(raw).recipients[0]
    assert (rcpt.status, rcpt.smtp_code, rcpt.reason, rcpt.hard, rcpt.category) == (
        "5.2.2", "552", "mailboxfull", False, "soft")


EXIM_DELAY = b"""\
From: Mail Delivery System <Mailer-Daemon@mx.example.net>
To: sender@lockline.example
Subject: Warning: message 1abcde-000123-AB delayed 24 hours
Auto-Submitted: auto-replied
X-Failed-Recipients: slow@example.org

This message was created automatically by mail delivery software.
A message that you sent has not yet been delivered to one or more of its
recipients after more than 24 hours on the queue on mx.example.net.

The address to which the message has not yet been delivered is:

  slow@example.org
    host mx.example.org [192.0.2.1]: 451 4.7.1 Greylisted, please try again later

No action is required on your part. Delivery attempts will continue for
some time, and this warning may be repeated at intervals.
"""


def test_an_exim_delay_warning_without_a_dsn_is_a_transient_delay():
    report = parse(EXIM_DELAY)
    assert (report.kind, report.mta) == (Kind.DELAY, "exim")
    rcpt = report.recipients[0]
    assert (rcpt.address, rcpt.action, rcpt.status, rcpt.smtp_code) == ("slow@example.org", "delayed", "4.7.1", "451")
    assert (rcpt.category, rcpt.detail, rcpt.hard) == ("transient", "greylisted", False)
    assert rcpt.remote_mta == "mx.example.org"

def test_a_mailer_daemon_report_naming_no_recipient_is_a_bounce_with_an_error_not_ordinary_mail():
    raw = (b"From: MAILER-DAEMON@example.org\nSubject: Undelivered Mail Returned to Sender\n"
           b"Content-Type: text/plain\n\nYour message could not be delivered.\n")
    report = parse(raw)
    assert report.kind == "bounce" and report.recipients == []
    assert report.parse_error
