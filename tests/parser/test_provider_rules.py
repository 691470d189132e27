"""Provider error-code rules and the special report kinds: list notices, forwarded bounces,
out-of-use auto-replies. Messages are built here from documented formats, not corpus files."""

import pytest

from bounces.parser import Kind, classify, parse


def dsn(recipient: str, status: str, diagnostic: str, *, reporting: str = "mx.sender.example",
        remote: str = "mx.receiver.example", status_gloss: str = "", sender: str = "MAILER-DAEMON@mx.sender.example") -> bytes:
    gloss = f" ({status_gloss})" if status_gloss else ""
    return f"""From: Mail Delivery System <{sender}>
To: bounces+lead1.c1@mail.lockline.example
Subject: Delivery Status Notification (Failure)
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b1"

--b1
Content-Type: text/plain

Your message could not be delivered.

--b1
Content-Type: message/delivery-status

Reporting-MTA: dns; {reporting}

Final-Recipient: rfc822; {recipient}
Action: failed
Status: {status}{gloss}
Remote-MTA: dns; {remote}
Diagnostic-Code: smtp; {diagnostic}

--b1
Content-Type: text/rfc822-headers

From: sales@lockline.example
To: {recipient}
Subject: Hello

--b1--
""".encode()


def only(report):
    assert len(report.recipients) == 1, report.recipients
    r = report.recipients[0]
    return r.reason, r.hard


@pytest.mark.parametrize("code,reason", [
    ("CXBL", "blocked"), ("CDRBL", "blocked"), ("CXDNS", "requireptr"), ("CXSNDR", "authfailure"),
    ("CXCNCT", "toomanyconn"), ("IPBL0110", "blocked"), ("URLBL1001", "spamdetected"),
])
def test_cox_aup_code_decides_the_reason_over_the_words_around_it(code, reason):
    raw = dsn("jo@cox.net", "5.1.0", f"550 5.1.0 <bounces@mail.lockline.example> sender rejected. "
              f"Refer to Error Codes section at https://www.cox.com/residential/support/email-error-codes.html AUP#{code}")
    assert only(parse(raw)) == (reason, False)


@pytest.mark.parametrize("code,reason", [
    ("I-1000", "blocked"), ("O-1010", "rejected"), ("In-1120", "requireptr"), ("I-1310", "toomanyconn"),
    ("O-1400", "speeding"), ("I-1530", "mesgtoobig"),
])
def test_spectrum_aup_number_is_read_by_its_documented_range(code, reason):
    raw = dsn("sam@charter.net", "5.1.0", f"550 5.1.0 <a@b.example> sender rejected. Please see "
              f"https://www.spectrum.net/support/internet/understanding-email-error-codes AUP#{code}")
    assert only(parse(raw)) == (reason, False)


def test_mimecast_geographic_policy_is_a_policy_violation_not_a_blocklisting():
    raw = dsn("kim@example.com", "5.0.0", "554 Host network not allowed - https://community.mimecast.com/docs/DOC-1369#554",
              remote="eu-smtp-inbound-1.mimecast.com")
    assert only(parse(raw)) == ("policyviolation", False)


def test_mimecast_rules_need_their_reply_code():
    # "invalid recipient" is userunknown for Mimecast only with 550
    assert classify("", "550", "550 Invalid Recipient - https://community.mimecast.com/docs/DOC-1369#550")[0] == "userunknown"


def test_email_security_cloud_echoing_the_recipient_with_rejected_is_an_unknown_user():
    raw = dsn("lee@example.com", "5.0.0", "542 lee@example.com Rejected",
              reporting="server-7.bemta-3.messagelabs.com", sender="MAILER-DAEMON@messagelabs.com")
    assert only(parse(raw)) == ("userunknown", True)


def test_email_security_cloud_no_such_user_after_data_is_still_an_unknown_user():
    raw = dsn("lee@example.com", "5.0.0", "550 lee@example.com... No such user",
              reporting="server-7.bemta-3.messagelabs.com", sender="MAILER-DAEMON@messagelabs.com")
    assert only(parse(raw)) == ("userunknown", True)


def test_status_gloss_mailbox_disabled_makes_a_suspended_account():
    raw = dsn("kit@example.jp", "5.2.1", "550 5.2.1 <kit@example.jp>... User Unknown",
              status_gloss="mailbox disabled, not accepting messages")
    assert only(parse(raw)) == ("suspend", False)


def test_other_providers_keep_the_general_rules():
    raw = dsn("jo@example.org", "5.1.1", "550 5.1.1 <jo@example.org>: Recipient address rejected: User unknown")
    assert only(parse(raw)) == ("userunknown", True)


VERIZON = b"""From: post_master@vtext.com
To: bounces+lead2.c2@mail.lockline.example
Subject: Returned mail: see transcript for details
Content-Type: text/plain

Original Message:
RCPT TO: 5551234567@vtext.com
From: sales@lockline.example
Size (in bytes): 187
Number of lines: 3
Error: Invalid user address
Error message below:
550 - Requested action not taken: no such user here
"""


def test_verizon_gateway_no_such_user_is_an_unknown_user_with_the_real_reply_code():
    report = parse(VERIZON)
    assert [(r.address, r.reason, r.hard, r.smtp_code) for r in report.recipients] == [
        ("5551234567@vtext.com", "userunknown", True, "550")]


FML_NOT_MEMBER = b"""From: tea-admin@lists.example.org
To: sales@lockline.example
Subject: You sales@lockline.example are not member (tea ML)
Message-ID: <202611010000.FMLAAAAAA.tea@lists.example.org>
X-MLServer: fml [fml 4.0.3 release (20011202/4.0.3)]

You are not a member of this mailing list <tea@lists.example.org>.

If you know the general guide of this list, please send mail with
the mail body

	guide

to the address

	tea-ctl@lists.example.org

Original mail as follows:

From: sales@lockline.example
To: tea@lists.example.org
Subject: Hello list
"""


def test_fml_not_member_notice_fails_the_list_address_as_rejected():
    report = parse(FML_NOT_MEMBER)
    assert report.kind == Kind.BOUNCE
    assert [(r.address, r.reason, r.hard) for r in report.recipients] == [("tea@lists.example.org", "rejected", False)]


def test_fml_loop_alert_is_a_system_error():
    raw = FML_NOT_MEMBER.replace(b"Subject: You sales@lockline.example are not member (tea ML)",
                                 b"Subject: Loop Alert: Duplicated Message-ID (tea ML)").replace(
        b"You are not a member of this mailing list <tea@lists.example.org>.",
        b"Duplicated Message-ID in <tea@lists.example.org>.")
    assert [(r.address, r.reason) for r in parse(raw).recipients] == [("tea@lists.example.org", "systemerror")]


FORWARDED = b"""From: Mail Delivery Subsystem <MAILER-DAEMON@gw.example.co.jp>
To: bounces+lead3.c3@mail.lockline.example
Subject: Returned mail: User unknown
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

--outer
Content-Type: text/plain

The original message was received at Thu, 12 Nov 2026 10:00:00 +0900

----- The following addresses had permanent delivery errors -----

--outer
Content-Type: message/rfc822

From: Mail Delivery Subsystem <MAILER-DAEMON@relay.example.co.jp>
To: sales@lockline.example
Subject: Returned mail: User unknown
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
	boundary="inner"

--inner

hana@example.org

--inner
Content-Type: message/delivery-status

Reporting-MTA: dns; relay.example.co.jp

Final-Recipient: RFC822; hana@example.org
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 User unknown

--inner--
--outer--
"""


def test_bounce_forwarded_inside_another_message_reports_the_inner_recipient_not_our_sender():
    report = parse(FORWARDED)
    assert [(r.address, r.reason, r.hard) for r in report.recipients] == [("hana@example.org", "userunknown", True)]
    assert report.verp_token == "lead3.c3"


OUT_OF_USE = b"""From: <noreply@example.com>
To: <sales@lockline.example>
Subject: Automatic reply: Hello
Auto-Submitted: auto-replied
Content-Type: text/plain; charset=utf-8

This mailbox is no longer in use. Please write to office@example.com instead.
"""


def test_auto_reply_saying_the_mailbox_is_out_of_use_is_a_soft_suspend():
    report = parse(OUT_OF_USE)
    assert report.kind == Kind.AUTO_REPLY
    assert [(r.address, r.reason, r.hard, r.category) for r in report.recipients] == [
        ("noreply@example.com", "suspend", False, "soft")]


def test_ordinary_out_of_office_stays_a_vacation():
    raw = OUT_OF_USE.replace(b"This mailbox is no longer in use. Please write to office@example.com instead.",
                             b"I am out of the office until Monday.")
    assert [(r.reason, r.category) for r in parse(raw).recipients] == [("vacation", "")]


@pytest.mark.parametrize("reply,reason", [
    ("550 5.1.1 Adresse d au moins un destinataire invalide. Invalid recipient. OFR_416 [416]", "userunknown"),
    ("552 5.1.1 Boite du destinataire pleine. Recipient overquota. OFR_417 [417]", "mailboxfull"),
    ("550 5.5.0 Boite du destinataire archivee. Archived recipient. LPN007_420", "suspend"),
    ("421 4.2.0 Service refuse. Veuillez essayer plus tard. Service refused, please try later. OFR005_505 [505]",
     "systemerror"),
    ("421 mwinf5c79 ME Trop de connexions, veuillez verifier votre configuration. OFR005_104 [104]", "toomanyconn"),
    ("554 5.7.1 <relay.example[192.0.2.9]:49309>: Client host rejected: #216 lpn LPN000_630", "policyviolation"),
])
def test_orange_and_la_poste_error_labels_decide_the_reason(reply, reason):
    # no Status field: the code quoted in the reply is the status
    assert only(parse(dsn("nadia@orange.fr", "", reply))) == (reason, reason == "userunknown")


def test_zoho_spam_flag_at_rcpt_is_a_refused_sender():
    raw = dsn("ana@zohomail.eu", "5.7.1", "554 5.7.1 Email cannot be delivered. Reason: Email flagged as Spam.",
              remote="mx.zoho.eu")
    assert only(parse(raw)) == ("rejected", False)


@pytest.mark.parametrize("subject", [
    "Respuesta automática: Hello", "Resposta automática: Hello", "Automatisch antwoord: Hello",
    "Fuori sede: Hello", "Réponse automatique : Hello",
])
def test_localised_auto_reply_subjects_make_a_vacation_reply(subject):
    raw = (b"From: <luz@example.es>\nTo: <sales@lockline.example>\nSubject: " + subject.encode() +
           b"\nContent-Type: text/plain; charset=utf-8\n\nEstoy de vacaciones hasta el lunes.\n")
    report = parse(raw)
    assert report.kind == Kind.AUTO_REPLY
    assert [(r.address, r.reason) for r in report.recipients] == [("luz@example.es", "vacation")]
