"""Receiving providers whose error texts need their own rules (Sisimai's "rhost" idea).

A few large mailbox providers and mail-security gateways answer with their own error codes
("AUP#CXBL", "AUP#In-1310") or with stock sentences whose general reading would be wrong
("554 Host network not allowed" is a geographic *policy*, not a blocklist). For those, the
provider's documented table decides, before the general phrase tables.

A provider is recognised by a host (recipient domain, remote MTA, reporting MTA or the
bounce's sender, matched as domain suffixes) or by a mark in the error text itself (its help
URL). Everything here is data: one ``Provider`` row per provider, one generic procedure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Provider:
    """One provider's documented error vocabulary."""

    name: str
    hosts: tuple[str, ...]  # domain suffixes ("cox.net" matches "mx.cox.net" and "cox.net")
    marks: tuple[str, ...] = ()  # lower-case substrings of an error text that name the provider
    # (reply code or "" for any, lower-case phrase, reason); first match wins.
    phrases: tuple[tuple[str, str, str], ...] = ()


# Cox (https://www.cox.com/residential/support/email-error-codes.html): the code after "AUP#".
_COX_CODES = {
    "cxbl": "blocked",  # sending IP blocked for spam-like behaviour
    "cdrbl": "blocked",  # sending IP temporarily blocked (up to 24 h)
    "cxdns": "requireptr",  # reverse DNS of the sending IP fails
    "cxsndr": "authfailure",  # SPF / DKIM of the sending domain failed
    "cxsmtp": "rejected",  # SMTP protocol violation, sender not verifiable
    "cxcnct": "toomanyconn",  # too many concurrent connections
    "cxmxrt": "toomanyconn",  # too many recipients / messages sent
    "cxthrt": "securityerror",  # sending limited after suspicious account activity
    "cxmj": "securityerror",  # sending blocked after suspicious account activity
}
# Cox's DNSBL ("IPBL0101") and URL blocklist ("URLBL110") families: the digits say which lists.
_COX_PREFIXES = (("ipbl", "blocked"), ("urlbl", "spamdetected"))

# Spectrum / Charter (understanding-email-error-codes): "AUP#I-1310" inbound, "AUP#O-1000"
# outbound; four digits, documented in ranges.
_SPECTRUM_RANGES = (
    (1000, 1000, "blocked"), (1010, 1010, "rejected"), (1020, 1080, "rejected"),
    (1090, 1090, "systemerror"), (1100, 1150, "requireptr"), (1160, 1190, "policyviolation"),
    (1200, 1250, "blocked"), (1260, 1260, "networkerror"), (1300, 1340, "toomanyconn"),
    (1350, 1490, "speeding"), (1500, 1520, "rejected"), (1530, 1530, "mesgtoobig"),
    (1540, 1550, "speeding"), (1560, 1560, "policyviolation"), (1580, 1580, "speeding"),
)
_AUP_RE = re.compile(r"aup#\s?([a-z]{1,8})[ -]?(\d{0,5})")


def _aup_reason(text: str) -> str:
    """Reason for a Cox or Spectrum "AUP#..." code in ``text`` (lower-case), or ''."""
    m = _AUP_RE.search(text)
    if not m:
        return ""
    letters, digits = m.groups()
    if len(digits) == 4 and letters in ("i", "in", "o", "out"):
        number = int(digits)
        return next((reason for low, high, reason in _SPECTRUM_RANGES if low <= number <= high), "")
    code = letters + digits
    if code in _COX_CODES:
        return _COX_CODES[code]
    return next((reason for prefix, reason in _COX_PREFIXES if code.startswith(prefix)), "")


# Orange / Wanadoo ("OFR005_505", "OFR_416") and La Poste ("LPN007_420", "LPN416") label
# their replies; the last three digits are the documented error number.
_FRANCE_PTT_CODES = {
    "101": "blocked", "102": "blocked", "103": "blocked",  # IP blocklisted / refused for spam
    "104": "toomanyconn",  # too many connections, slow down
    "305": "securityerror", "402": "securityerror",  # authentication invalid / required
    "401": "authfailure", "517": "authfailure",  # SPF failed / DMARC verification failed
    "403": "rejected", "405": "rejected", "415": "rejected", "421": "rejected",  # invalid sender
    "416": "userunknown",  # invalid recipient
    "417": "mailboxfull",  # recipient over quota
    "420": "suspend", "426": "suspend",  # archived / blocked recipient account
    "505": "systemerror",  # service refused, try later (after DATA)
    "506": "spamdetected",  # mail rejected
    "510": "blocked",
    "514": "mesgtoobig",  # message size limit reached
    "630": "policyviolation",  # client host rejected by policy
    "999": "blocked",
}
_FRANCE_PTT_RE = re.compile(r"\b(?:ofr|lpn|ouk)(?:[a-z]{0,3}\d{0,3})?_?(\d{3})\b")


def _label_reason(text: str) -> str:
    """Reason for a provider's own error label in ``text`` (lower-case), or ''."""
    if "aup#" in text:
        reason = _aup_reason(text)
        if reason:
            return reason
    if "ofr" in text or "lpn" in text or "ouk" in text:
        found = _FRANCE_PTT_RE.findall(text)
        if found:
            return _FRANCE_PTT_CODES.get(found[-1], "")
    return ""


PROVIDERS: tuple[Provider, ...] = (
    Provider(
        "cox", hosts=("cox.net", "cox.com"), marks=("www.cox.com",),
        phrases=(
            ("", "cox too many bad commands from", "blocked"),
            ("", "too many invalid recipients", "blocked"),
            ("", "dns check failure - try again later", "requireptr"),
            ("", "rejected - no rdns", "requireptr"),
            ("", "esmtp no data before greeting", "policyviolation"),
            ("", "attachment extension is forbidden", "policyviolation"),
            ("", "esmtp server temporarily not available", "systemerror"),
            ("", "too many sessions from", "toomanyconn"),
            ("", "message threshold exceeded", "toomanyconn"),
            ("", "requested action aborted: try again later", "toomanyconn"),
            ("", "sender rejected", "rejected"),
            ("", "recipient rejected", "userunknown"),
        ),
    ),
    Provider("franceptt", hosts=("orange.fr", "wanadoo.fr", "laposte.net"),
             phrases=(("", "spf/dns de votre nom de domaine", "authfailure"),)),
    Provider("spectrum", hosts=("charter.net", "spectrum.net", "rr.com", "twc.com", "brighthouse.com"),
             marks=("spectrum.net", "spectrumbusiness.net")),
    Provider(
        # Mimecast (community.mimecast.com "Mimecast SMTP Error Codes"): reply code + sentence.
        "mimecast", hosts=("mimecast.com", "mimecast.co.za", "mimecast-offshore.com"),
        marks=("mimecast",),
        phrases=(
            ("550", "spf sender invalid - envelope rejected", "authfailure"),
            ("550", "dkim sender invalid - envelope rejected", "authfailure"),
            ("550", "dmarc sender invalid - envelope rejected", "authfailure"),
            ("451", "internal resources are temporarily unavailable", "badreputation"),
            ("550", "local ct ip reputation - (reject)", "badreputation"),
            ("421", "sender address blocked", "blocked"),
            ("451", "recipient temporarily unavailable", "blocked"),
            ("451", "ip temporarily blacklisted", "blocked"),
            ("553", "this route requires encryption (tls)", "failedstarttls"),
            ("553", "this route requires tls version 1.2 or greater", "failedstarttls"),
            ("553", "this route requires high-strength ciphers", "failedstarttls"),
            ("554", "configuration is invalid for this certificate", "failedstarttls"),
            ("554", "maximum email size exceeded", "mesgtoobig"),
            ("", "the incorrect hostname used for inbounds", "networkerror"),
            ("554", "mail loop detected", "networkerror"),
            ("451", "open relay not allowed", "norelaying"),
            ("451", "open relay is not allowed", "norelaying"),
            ("451", "account inbounds disabled", "notaccept"),
            ("451", "account outbounds disabled", "onhold"),
            ("451", "hostname is not authorized", "onhold"),
            ("550", "journal message past expiration", "onhold"),
            ("550", "journal messages past the expiration", "expired"),
            ("550", "anti-spoofing policy - inbound not allowed", "policyviolation"),
            ("550", "rejected by header-based anti-spoofing policy", "policyviolation"),
            ("550", "message bounced due to content examination policy", "policyviolation"),
            ("554", "host network not allowed", "policyviolation"),
            ("554", "host network, not allowed", "policyviolation"),
            ("550", "administrative prohibition envelope blocked", "rejected"),
            ("550", "envelope blocked - user entry", "rejected"),
            ("550", "envelope blocked - user domain entry", "rejected"),
            ("550", "rejected by header-based manually blocked senders", "rejected"),
            ("550", "rejected by header-based blocked senders", "rejected"),
            ("550", "envelope rejected - block policy for envelope from address", "rejected"),
            ("535", "incorrect authentication data", "securityerror"),
            ("550", "submitter failed to authenticate", "securityerror"),
            ("451", "unable to process connection at this time", "systemerror"),
            ("451", "message ended early", "systemerror"),
            ("451", "unable to process command", "systemerror"),
            ("451", "unable to process an email at this time", "systemerror"),
            ("451", "account service is temporarily unavailable", "toomanyconn"),
            ("452", "too many recipients", "toomanyconn"),
            ("550", "exceeding outbound thread limit", "toomanyconn"),
            ("501", "invalid address", "userunknown"),
            ("503", "user unknown", "userunknown"),
            ("550", "invalid recipient", "userunknown"),
            # a virus signature or a spam score over the maximum: Mimecast does not say which
            ("554", "email rejected due to security policies", "virusdetected"),
        ),
    ),
    Provider(
        # Verizon Wireless's SMS/MMS gateways: their report says "Invalid user address" / "No
        # valid recipients" for a number that has no messaging service.
        "verizon", hosts=("vtext.com", "vzwpix.com", "vzw.com", "verizon.net"),
        phrases=(
            ("", "invalid user address", "userunknown"),
            ("", "no valid recipients", "userunknown"),
            ("", "no such user", "userunknown"),
        ),
    ),
    Provider(
        # Zoho Mail (smtpin.zoho.com, mx.zoho.com/.eu/.in): its stock replies.
        "zoho", hosts=("zoho.com", "zohomail.com", "zoho.eu", "zoho.in", "zoho.com.au", "zohomail.eu"),
        phrases=(
            ("", "email rejected per dmarc policy", "authfailure"),
            ("", "greylisted, try again after some time", "blocked"),
            ("", "email cannot be delivered. reason: email flagged as spam", "rejected"),
            ("", "mail rejected by destination domain", "rejected"),
            ("", "email policy violation detected", "policyviolation"),
            ("", "mailbox delivery restricted by policy error", "policyviolation"),
            ("", "temporary system error", "systemerror"),
            ("", "user does not exist", "userunknown"),
        ),
    ),
    Provider(
        # Broadcom/Symantec Email Security.cloud (formerly MessageLabs) knowledge base.
        "messagelabs", hosts=("messagelabs.com", "symanteccloud.com"),
        marks=("messagelabs", "symanteccloud", "email security.cloud"),
        phrases=(
            ("", "domain authentication fail", "authfailure"),
            ("", "connection rejected by policy", "badreputation"),
            ("", "mail rejected because your ip is in the pbl", "blocked"),
            ("", "your ip address has been ", "blocked"),
            ("", "stray linefeeds in message", "contenterror"),
            ("", "tls/sslv3 connection required", "failedstarttls"),
            ("", " as a relay, ", "norelaying"),
            ("", "550 requested action aborted [4]", "notcompliantrfc"),
            ("", "has detected that this message is not rfc 5322", "notcompliantrfc"),
            ("", "sender envelope domain not allowed for sender ip address", "rejected"),
            ("", "your domain has been blocked", "rejected"),
            ("", "your email address has been blocked", "rejected"),
            ("", "your envelope sender is in my badmailfrom list", "rejected"),
            ("", "your email address has been blacklisted", "rejected"),
            ("", "your domain has been blacklisted", "rejected"),
            ("", "please turn on smtp authentication in your mail client", "securityerror"),
            ("", "message filtered", "spamdetected"),
            ("", "filtered by outbound scanning", "spamdetected"),
            ("", "too many recipients received this hour", "toomanyconn"),
            ("", "too many messages", "toomanyconn"),
            ("", "no such user", "userunknown"),
            ("", "invalid recipient", "userunknown"),
            ("", "mailbox is not allowed", "userunknown"),
        ),
    ),
)

# "542 kijitora@example.com Rejected": Email Security.cloud's answer to RCPT TO for an address
# its customer's directory does not hold (the reply echoes the recipient).
_ECHOED_REJECT_RE = re.compile(r"^[45]\d\d[ -](?:[45]\.\d{1,3}\.\d{1,3} )?<?(\S{1,254}@\S{1,254}?)>?:? rejected\b")


_BY_DOMAIN = {suffix: provider for provider in PROVIDERS for suffix in provider.hosts}
_MARKS = tuple((mark, provider) for provider in PROVIDERS for mark in provider.marks)


def _by_host(host: str) -> Provider | None:
    """The provider owning ``host`` or one of its parent domains (one dict probe per label)."""
    while host:
        provider = _BY_DOMAIN.get(host)
        if provider is not None:
            return provider
        host = host.partition(".")[2]
    return None


def find_provider(hosts: tuple[str, ...], text: str) -> Provider | None:
    """The provider named by any of ``hosts`` (lower-case) or by a mark in ``text``."""
    for host in hosts:
        provider = _by_host(host) if "." in host else None
        if provider is not None:
            return provider
    return next((provider for mark, provider in _MARKS if mark in text), None)


def provider_reason(hosts: tuple[str, ...], diagnostic: str, smtp_code: str) -> str:
    """The reason a provider's own table gives for ``diagnostic``, or '' (general rules apply).

    ``hosts``: recipient domain, remote MTA, reporting MTA, the bounce sender's domain.
    ``diagnostic`` is single-spaced (as ``RecipientResult.diagnostic`` is).
    """
    text = diagnostic[:1000].lower()  # single-spaced by the caller
    reason = _label_reason(text)
    if reason:
        return reason
    provider = find_provider(hosts, text)
    if provider is None:
        return ""
    for code, phrase, reason in provider.phrases:
        if (not code or code == smtp_code) and phrase in text:
            return reason
    if provider.name == "messagelabs" and _ECHOED_REJECT_RE.match(text):
        return "userunknown"
    return ""
