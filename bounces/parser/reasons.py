"""Vocabulary and evidence tables for bounce reasons.

The reason names are Sisimai's, so results compare one to one with its corpus and docs.
Tables only: the decision procedure lives in ``classify.py``.
"""

from __future__ import annotations


class Reason:
    """Why a message was not delivered (Sisimai's vocabulary)."""

    AUTHFAILURE = "authfailure"  # SPF, DKIM or DMARC failed
    BADREPUTATION = "badreputation"  # sending IP's reputation is poor
    BLOCKED = "blocked"  # client IP or hostname refused
    CONTENTERROR = "contenterror"  # header/content format refused
    DELIVERED = "delivered"  # a success report, not a failure
    EXCEEDLIMIT = "exceedlimit"  # message exceeded a per-mailbox limit
    EXPIRED = "expired"  # gave up after retrying (timeouts, unreachable)
    FAILEDSTARTTLS = "failedstarttls"  # STARTTLS required or failed
    FEEDBACK = "feedback"  # a complaint (ARF)
    FILTERED = "filtered"  # refused after DATA by a content/recipient filter
    HASMOVED = "hasmoved"  # mailbox moved, no forwarding
    HOSTUNKNOWN = "hostunknown"  # the domain does not exist / has no mail host
    MAILBOXFULL = "mailboxfull"  # over quota
    MAILERERROR = "mailererror"  # a local delivery program failed
    MESGTOOBIG = "mesgtoobig"  # message too large
    NETWORKERROR = "networkerror"  # DNS or routing problem, loops
    NORELAYING = "norelaying"  # relaying denied
    NOTACCEPT = "notaccept"  # the host accepts no mail at all (null MX...)
    NOTCOMPLIANTRFC = "notcompliantrfc"  # message violates an RFC (duplicate headers...)
    ONHOLD = "onhold"  # an error text exists but says too little
    POLICYVIOLATION = "policyviolation"  # refused by a site policy
    REJECTED = "rejected"  # the envelope sender was refused
    REQUIREPTR = "requireptr"  # no or bad reverse DNS
    SECURITYERROR = "securityerror"  # authentication / security policy problem
    SPAMDETECTED = "spamdetected"  # judged to be spam
    SPEEDING = "speeding"  # rate limited
    SUSPEND = "suspend"  # recipient account disabled or suspended
    SYNTAXERROR = "syntaxerror"  # SMTP command syntax error
    SYSTEMERROR = "systemerror"  # remote system failure
    SYSTEMFULL = "systemfull"  # remote disk full
    TOOMANYCONN = "toomanyconn"  # too many connections / recipients
    UNDEFINED = "undefined"  # nothing to go on
    USERUNKNOWN = "userunknown"  # the mailbox does not exist
    VACATION = "vacation"  # an auto-reply
    VIRUSDETECTED = "virusdetected"  # a virus was found


# Enhanced status code -> reason, where the code alone is specific enough.
# Generic codes (x.0.0, 5.7.1, 4.4.0...) are deliberately absent: the text must decide.
STATUS_REASON: dict[str, str] = {
    "2.1.5": "delivered",
    "4.1.6": "hasmoved", "4.1.7": "rejected", "4.1.8": "rejected", "4.1.9": "systemerror",
    "4.2.1": "blocked", "4.2.2": "mailboxfull", "4.2.3": "exceedlimit", "4.2.4": "filtered",
    "4.3.1": "systemfull", "4.3.2": "notaccept", "4.3.3": "systemerror", "4.3.5": "systemerror",
    "4.4.1": "expired", "4.4.2": "networkerror", "4.4.3": "systemerror", "4.4.4": "networkerror",
    "4.4.5": "systemfull", "4.4.6": "networkerror", "4.4.7": "expired", "4.4.8": "networkerror",
    "4.5.3": "systemerror", "4.5.5": "systemerror",
    "4.6.0": "contenterror", "4.6.2": "contenterror", "4.6.5": "contenterror",
    "4.7.1": "blocked", "4.7.2": "blocked", "4.7.5": "securityerror", "4.7.6": "securityerror",
    "4.7.7": "securityerror", "4.7.12": "securityerror", "4.7.15": "securityerror",
    "4.7.16": "mesgtoobig", "4.7.24": "authfailure", "4.7.25": "requireptr", "4.7.26": "authfailure",
    "5.1.0": "userunknown", "5.1.1": "userunknown", "5.1.2": "hostunknown", "5.1.3": "userunknown",
    "5.1.4": "filtered", "5.1.6": "hasmoved", "5.1.7": "rejected", "5.1.8": "rejected",
    "5.1.9": "systemerror", "5.1.10": "notaccept",
    "5.2.0": "filtered", "5.2.1": "filtered", "5.2.2": "mailboxfull", "5.2.3": "exceedlimit",
    "5.2.4": "filtered",
    "5.3.0": "systemerror", "5.3.1": "systemfull", "5.3.2": "notaccept", "5.3.3": "systemerror",
    "5.3.4": "mesgtoobig", "5.3.5": "systemerror",
    "5.4.0": "networkerror", "5.4.3": "systemerror", "5.4.4": "hostunknown",
    "5.5.2": "syntaxerror", "5.5.3": "toomanyconn", "5.5.4": "systemerror", "5.5.5": "systemerror",
    "5.5.6": "syntaxerror",
    "5.6.0": "contenterror", "5.6.1": "contenterror", "5.6.2": "contenterror",
    "5.6.3": "contenterror", "5.6.5": "contenterror", "5.6.6": "contenterror",
    "5.6.7": "contenterror", "5.6.8": "contenterror", "5.6.9": "contenterror",
    "5.7.0": "securityerror", "5.7.1": "securityerror", "5.7.2": "securityerror",
    "5.7.3": "securityerror", "5.7.4": "securityerror", "5.7.5": "securityerror",
    "5.7.6": "securityerror", "5.7.7": "securityerror", "5.7.8": "securityerror",
    "5.7.9": "securityerror", "5.7.10": "securityerror", "5.7.11": "securityerror",
    "5.7.13": "suspend", "5.7.14": "securityerror", "5.7.15": "securityerror",
    "5.7.16": "mesgtoobig", "5.7.17": "hasmoved", "5.7.18": "hasmoved", "5.7.19": "securityerror",
    "5.7.20": "authfailure", "5.7.21": "authfailure", "5.7.22": "authfailure",
    "5.7.23": "authfailure", "5.7.24": "authfailure", "5.7.25": "requireptr",
    "5.7.26": "authfailure", "5.7.27": "notaccept", "5.7.28": "spamdetected",
    "5.7.29": "authfailure", "5.7.30": "failedstarttls",
}

# Reasons a status code may suggest but the text is allowed to overrule.
WEAK_REASONS = frozenset(
    {"undefined", "onhold", "systemerror", "securityerror", "expired", "networkerror",
     "hostunknown", "userunknown"}
)

# Phrase evidence, lower-case substrings of the single-spaced diagnostic. A tuple entry is an
# ordered sequence of fragments that must appear in that order ("user " ... " does not exist").
PHRASES: dict[str, tuple] = {
    "mailboxfull": (
        "mailbox exceeds allowed size", "account is exceeding their quota", "account is over quota",
        "account is temporarily over quota", "boite du destinataire pleine",
        "delivery failed: over quota", "disc quota exceeded", "diskspace quota",
        "does not have enough space", "exceeded storage allocation", "exceeding its mailbox quota",
        "full mailbox", "is over disk quota", "is over quota",
        "is over the maximum allowed number of messages", "mail file size exceeds the maximum",
        "mailbox exceeded the local limit", "mailbox full",
        "mailbox has exceeded its disk space limit", "mailbox is full", "mailbox over quota",
        "mailbox quota usage exceeded", "mailbox size limit exceeded", "maildir over quota",
        "maildir delivery failed: userdisk quota ", "maildir delivery failed: domaindisk quota ",
        "mailfolder is full", "no space left on device", "not enough disk space",
        "not enough storage space in", "not sufficient disk space", "over the allowed quota",
        "quota exceeded", "quota violation for", "recipient reached disk quota",
        "recipient rejected: mailbox would exceed maximum allowed storage",
        "the recipient mailbox has exceeded its disk space limit",
        "the user's space has been used up", "the user you are trying to reach is over quota",
        "too much mail data", "user has exceeded quota, bouncing mail",
        "user has too many messages on the server", "user is over quota", "user is over the quota",
        "user over quota", "user over limit", "user's mailbox is full",
        "would be over the allowed quota", "mailbox is over quota", "user has exceeded",
        "is over their storage quota", "exceeded its quota", "inbox is full", "over quota",
        ("mailbox ", " is full"), "quota full",
    ),
    "mesgtoobig": (
        "exceeded maximum inbound message size", "line limit exceeded", "max message size exceeded",
        "message file too big", "message length exceeds administrative limit",
        "message size exceeds fixed limit", "message size exceeds fixed maximum message size",
        "message size exceeds maximum value", "message too big", "message too large", "size limit",
        "taille limite du message atteinte", "exceeds size limit", "message is too big",
        "message exceeds maximum fixed size", "message size exceeds", "message is larger than",
        "mail is too big", "too big for system",
    ),
    "exceedlimit": (
        "message header size exceeds limit", "message too large for this recipient",
        "exceeds the message size limit for this recipient",
    ),
    "suspend": (
        "recipient account is blocked", " is currently suspended", " temporary locked",
        "address no longer accepts mail", "archived recipient", "boite du destinataire archivee",
        "email account that you tried to reach is disabled", "has been disabled or discontinued",
        "invalid/inactive user", "is a deactivated mailbox", "is unavailable: user is terminated",
        "mailbox currently suspended", "mailbox disabled", "mailbox is frozen",
        "mailbox unavailable or access denied", "recipient rejected: temporarily inactive",
        "recipient suspend the service", "this account has been disabled or discontinued",
        "this account has been temporarily suspended", "this address no longer accepts mail",
        "this mailbox is disabled", "user or domain is disabled", "user suspended",
        "vdelivermail: account is locked email bounced", "account disabled", "account is disabled",
        "account has been disabled", "account has been suspended", "account is suspended",
        "user account disabled", "account inactive", "is inactive", "account is inactive",
        "mailbox is inactive", "user is inactive", "disabled mailbox", "account expired",
        "user account is expired", "user is disabled",
    ),
    "hasmoved": (
        " has been replaced by ", "mailbox has moved", "address has moved",
    ),
    "norelaying": (
        "no relaying", "as a relay", "email address is not verified.", "insecure mail relay",
        "is not permitted to relay through this server without authentication",
        "mail server requires authentication when attempting to send to a non-local e-mail address",
        "not a gateway", "not allowed to relay through this machine",
        "not an open relay, so get lost", "not local host", "relay access denied", "relay denied",
        "relay not permitted", "relaying denied", "relaying mail to ", "relaying not allowed",
        "this system is not configured to relay mail", "unable to relay",
        "we don't handle mail for", "relay prohibited", "no relaying allowed", "relaying to ",
        "relay not allowed", ("not", "permitted to relay"),
        "that domain isn't in my list of allowed rcpthosts",
        "domain isn't in my list of allowed rcpthosts",
    ),
    "authfailure": (
        "does not have authentication information", "fails to pass authentication",
        "//spf.pobox.com", "bad spf records for", "dmarc policy",
        "please inspect your spf settings", "sender policy framework (spf) fail",
        "sender policy framework violation",
        "spf (sender policy framework) domain authentication fail", "spf check: fail",
        "the message failed dmarc", "unauthenticated email", "dkim signature", "dmarc rejection",
        "dmarcrejection", "spf fail", "spf check failed", "does not designate", "failed spf",
        "dkim validation", "dmarc", ("is not allowed to send mail from", "spf"), ("spf", " fail"),
    ),
    "userunknown": (
        "#5.1.1 bad address", "550 address invalid", "5.1.0 address rejected.",
        "address does not exist", "address not present in directory", "address unknown",
        "can't accept user", "does not exist.", "destination addresses were unknown",
        "destination server rejected recipients", "email address does not exist",
        "email address could not be found", "invalid address", "invalid mailbox",
        "invalid recipient", "is not a known user", "is not a valid mailbox",
        "is not an active address at this host", "mailbox does not exist", "mailbox invalid",
        "mailbox is unavailable", "mailbox not present", "mailbox not found", "mailbox unavailable",
        "no account by that name here", "no mail box available for this user",
        "no mailbox by that name is currently available", "no mailbox found",
        "no such address here", "no such mailbox", "no such person at this address",
        "no such recipient", "no such user", "no valid recipients, bye", "not a valid recipient",
        "not a valid user here", "not a local address", "not our customer",
        "recipient address rejected: access denied", "recipient address rejected: invalid user",
        "recipient address rejected: invalid-recipient", "recipient address rejected: unknown user",
        "recipient address rejected: userunknown", "recipient does not exist",
        "recipient is not accepted", "recipient is not local", "recipient not exist",
        "recipient not found", "recipient not ok", "recipient unknown",
        "requested action not taken: mailbox unavailable", "resolver.adr.recipnotfound",
        "resolver.adr.recipientnotfound", "sorry, user unknown", "sorry, badrcptto",
        "sorry, no mailbox here by that name", "sorry, your envelope recipient has been denied",
        "the email account that you tried to reach does not exist",
        "the following recipients was undeliverable", "the user's email name is not found",
        "there is no one at this address", "this address no longer accepts mail",
        "this email address is wrong or no longer valid",
        "this recipient is in my badrecipientto list",
        "this recipient is not in my validrcptto list", "unknown mailbox", "unknown recipient",
        "unknown user", "user does not exist", "user missing home directory", "user not active",
        "user not exist", "user not found", "user not known", "user unknown", "utilisateur inconnu",
        "vdeliver: invalid or unknown virtual user",
        "your envelope recipient is in my badrcptto list", "unknown address", "no such local user",
        "does not have an account here", "e-mail address you entered couldn't be found",
        "email address you entered couldn't be found", "couldn't be found", "user doesn't exist",
        "recipient address rejected: user unknown", "not listed in domino directory",
        "not listed in public name & address book", "bad destination mailbox address",
        "invalid user", "no mailbox here by that name", "user not listed", "unknown local part",
        "unknown local-part", "local user unknown", "mailbox unknown", "this user doesn't have a",
        "couldn't find the recipient", "addressee unknown", "nonexistent user", "non-existent user",
        "no such account", "account does not exist", "account not found", "no user", "user_unknown",
        ("<", "> not found"), ("account ", " does not exist at the organization"),
        ("mailbox ", "does not exist"), ("no ", " in name directory"),
        ("rcpt <", " does not exist"), ("recipient ", " was not found in"),
        ("user ", " was not found"), ("user ", " does not exist"), ("user (", ") unknown"),
        ("unknown e", "mail address"), ("said: 550", "5.1.1 ", " user unknown "),
        "no thank you rejected: account unavailable", "account unavailable",
    ),
    "filtered": (
        "refused due to recipient preferences", "recipients was rejected by a remote mail server",
        "because the recipient is not accepting mail with attachments",
        "because the recipient is not accepting mail with embedded images",
        "blocked by policy: no spam please", "blocked by spamassassin",
        "blocked for abuse. see http",
        "cannot process a message from a domain that is not authorized",
        "delivery not authorized, message refused", "message filtered",
        "message refused by mailmarshal spamprofiler",
        "message rejected due to suspected spam content",
        "recipient is not accepting messages from this sender",
        "the user does not accept mail from",
        "this message has been blocked because it contains a banned word",
        "this message was rejected by policy", "user refuses to receive this mail", "user reject",
        "we are sorry, but the message was rejected", "you have been blocked by the recipient",
        "the mail was blocked by", "content filter", "message rejected by recipient",
        "does not accept mail from", "refused by recipient", "mail refused",
    ),
    "requireptr": (
        ("service permits ", " unverifyable sending ips"), "access denied. ip name lookup failed",
        "all mail servers must have a ptr record with a valid reverse dns entry",
        "bad dns ptr resource record", "cannot find your hostname",
        "client host rejected: cannot find your hostname", "fix reverse dns for",
        "ip name lookup failed", "no ptr record found.", "please get a custom reverse dns name",
        "please set up a ptr record", "ptr record setup", "reverse dns failed",
        "reverse dns required", "sender ip reverse lookup rejected",
        "the ip address sending this message does not have a ptr record setup",
        "the corresponding forward dns entry does not point to the sending ip",
        "this system will not accept messages from servers/devices with no reverse dns",
        "unresolvable relay host name",
        "we do not accept mail from hosts with dynamic ip or generic dns ptr-records",
        "reverse dns lookup", "no ptr record", "ptr record", "invalid reverse dns",
        "reverse dns entry", "client host rejected: cannot find your reverse hostname",
        "cannot resolve your address", ("domain ", " mismatches client ip"),
        ("dns lookup failure: ", " try again later"),
        ("reverse dns lookup for host ", " failed permanently"),
        ("server access ", " forbidden by invalid rdns record of your mail server"),
    ),
    "notcompliantrfc": (
        "messages with multiple addresses in from", "this message is not rfc 5322 compliant",
        "https://support.google.com/a?p=bulk-sender-guidelines", "duplicate header",
        "multiple addresses in from: header are not accepted",
        "messages with multiple addresses in from: header are not accepted", "rfc 5322", "rfc5322",
        "not rfc compliant", "header is not rfc compliant", "bare lf", "non-compliant with rfc",
    ),
    "badreputation": (
        "a poor email reputation score", "has been temporarily rate limited due to ip reputation",
        "ip/domain reputation problems", "likely suspicious due to the very low reputation",
        "none of your ip addresses are authorized",
        "temporarily deferred due to unexpected volume or user complaints",
        "the sending mta's poor reputation", "bad reputation", "poor reputation", "low reputation",
        "sender reputation", "ip reputation", "reputation score",
        ("has been temporarily rate limited due to ", "reputation"),
    ),
    "contenterror": (
        "message header size, or recipient list, exceeds policy limit",
        "message mime complexity exceeds the policy maximum",
        "routing loop detected -- too many received: headers",
        "this message contain invalid mime headers",
        "this message contain improperly-formatted binary content",
        "this message contain text that uses unnecessary base64 encoding",
        "improperly-formatted binary content", "invalid mime",
    ),
    "rejected": (
        "mail rejected by destination domain", "'send mail as'", "send mail as",
        "access denied (in reply to mail from command)", "administrative prohibition",
        "all recipient addresses rejected : access denied", "batv failed to verify",
        "batv validation failure",
        "backscatter protection detected an invalid or expired email address",
        "by non-member to a members-only list", "can't determine purported responsible address",
        "connections not accepted from servers without a valid sender domain",
        "denied by secumail valid-address-filter", "domain of sender address ",
        "email address is on senderfilterconfig list", "emetteur invalide", "empty email address",
        "empty envelope senders not allowed",
        "from: domain is invalid. please provide a valid from:",
        "fully qualified email address required", "invalid domain, see <url:", "invalid sender",
        "is not a registered gateway user", "mail from not owned by user",
        "mailfrom domain is listed in spamhaus", "null sender is not allowed",
        "returned mail not accepted here", "rfc 1035 violation: recursive cname records for",
        "rule imposed mailbox access for", "sender address has been blacklisted",
        "sender email address rejected", "sender is in my badmailfrom list", "sender is spammer",
        "sender not pre-approved", "sender rejected", "sender domain is empty",
        "sender verify failed", "sender was rejected", "spam reporting address",
        "syntax error: empty email address", "the message has been rejected by batv defense",
        "this server does not accept mail from", "transaction failed unsigned dsn for",
        "unroutable sender address", "you are not allowed to post to this mailing list",
        "you are sending to/from an address that has been blacklisted",
        "your access to submit messages to this e-mail system has been rejected",
        "your email address has been blacklisted", "sender address rejected",
        "sender address rejected: domain not found", "mail from address rejected",
        "sender domain must exist", "domain of sender",
        "your envelope sender is in my badmailfrom list", "sender address invalid",
        "sender unknown", "bad sender", "sender denied", "not a member of this group",
        "you do not have permission to post",
        "may not exist, or you may not have permission to post", "does not have permission to post",
        ("after mail from:", " rejected"), ("sender ", " rejected"),
        ("sender address ", " rejected"),
    ),
    "hostunknown": (
        ("host ", " not found"), "domain does not exist", "domain is not reachable",
        "domain must exist", "host or domain name not found", "host unknown", "host unreachable",
        "name or service not known", "no such domain",
        "recipient address rejected: unknown domain name", "recipient domain must exist",
        "the account or domain may not exist", "unknown host", "unroutable address",
        "unrouteable address", "all relevant mx records point to non-existent hosts",
        "unrouteable mail domain", "domain not found", "unknown domain", "mx lookup failed",
        "couldn't find any host named", "couldn't find any host by that name",
        "illegal host/domain name found", "host not found", "dns name not found",
        "domain name not found", "recipient domain not found", ("domain ", " not found"),
    ),
    "spamdetected": (
        "spam classification", " - spam", "//www.spamhaus.org/help/help_spam_16.htm", "//dsbl.org/",
        "//mail.163.com/help/help_spam_16.htm", "554 5.7.0 reject, id=",
        "appears to be unsolicited", "blacklisted url in message", "block for spam",
        "blocked by policy: no spam please", "blocked by spamassassin",
        "classified as spam and is rejected", "content filter rejection",
        "cyberoam anti spam engine has identified this email as a bulk email",
        "denied due to spam list", "high probability of spam",
        "is classified as spam and is rejected", "listed in work.drbl.imedia.ru",
        "the mail server detected your message as spam and has prevented delivery.",
        "mail appears to be unsolicited", "mail content denied", "may consider spam",
        "message considered as spam or virus", "message contains spam or virus",
        "message content rejected", "message detected as spam",
        "message is being rejected as it seems to be a spam", "message looks like spam",
        "message rejected because of unacceptable content",
        "message refused by mailmarshal spamprofiler",
        "message was rejected for possible spam/virus content",
        "our email server thinks this email is spam", "our filters rate at and above",
        "our system has detected that this message is", "probable spam", "reject bulk.advertising",
        "reject due to high probability of spam",
        "rejected because the message was identified as spam", "rejected by spam",
        "rejected for spam", "rejected as spam", "rejecting banned content",
        "related to content with spam-like characteristics", "rule imposed as ",
        "sending address not accepted due to spam filter", "spam check", "spam content matched",
        "spam detected", "spam email", "spam email not accepted", "spam message rejected.",
        "spam not accepted", "spam refused", "spam rejection", "spam score ",
        "spambouncer identified spam", "spamming not allowed", "too many spam complaints",
        "too much spam.", "the email message was detected as spam",
        "the message has been rejected by spam filtering engine",
        "the message was rejected due to classification as bulk mail",
        "the content of this message looked like spam", "this message appears to be spam",
        "this message has been identified as spam", "this message scored ",
        "this message was classified as spam",
        "this message was rejected by recurrent pattern detection system",
        "transaction failed spam message not queued", "we dont accept spam",
        "your email appears similar to spam we have received before",
        "your email breaches local uribl policy", "your email had spam-like ",
        "your email is considered spam", "your email is probably spam",
        "your email was detected as spam", "your message as spam and has prevented delivery",
        "your message has been temporarily blocked by our filter",
        "your message has been rejected because it appears to be spam",
        "your message has triggered a spam block", "your message may contain the spam contents",
        "your message failed several antispam checks", "message rejected as spam",
        "identified as spam", "detected as spam", "considered spam", "looks like spam", "is spam",
        "spam filter", "spam-like", "spam message", "suspected spam", "spam blocked", "as spam",
        ("greylisted", " please try again in"), ("mail score (", " over "),
        ("mail rejete. mail rejected. ", "506"),
        ("our filters rate at and above ", " percent probability of being spam"),
        ("rejected by ", " (spam)"), ("rejected due to spam ", "classification"),
        ("rejected due to spam ", "content"), ("rule imposed as ", " is blacklisted on"),
        ("spam ", " exceeded"), ("this message scored ", " spam points"),
    ),
    "speeding": (
        "too many recipients this hour", "please try again slower",
        "receiving mail at a rate that prevents additional messages from being delivered",
        "too many messages from", "sending rate", "rate limited", "ratelimit", "rate-limited",
    ),
    "toomanyconn": (
        "frequency limited", "all available ips are at maximum connection limit",
        "connection rate limit exceeded", "exceeds per-domain connection limit for",
        "has exceeded the max emails per hour ", "throttling failure: daily message quota exceeded",
        "throttling failure: maximum sending rate exceeded", "too many connections",
        "too many connections from your host.", "too many concurrent smtp connections",
        "too many errors from your ip", "too many recipients",
        "too many smtp sessions for this host", "trop de connexions, ",
        "we have already made numerous attempts to deliver this message",
        "too many simultaneous connections", "too many concurrent connections",
    ),
    "blocked": (
        "client host blocked", "ip source bloquee", "service refuse", "my name was rejected",
        " said: 550 blocked", "//www.spamcop.net/bl.", "bad sender ip address", "banned sending ip",
        "blacklisted by", "blocked using ", "blocked - see http", "dnsbl:attrbl",
        "client host rejected: abus detecte gu_eib_02",
        "client host rejected: abus detecte gu_eib_04",
        "client host rejected: may not be mail exchanger",
        "client host rejected: was not authenticated", "confirm this mail server",
        "connection dropped", "connection refused by", "connection reset by peer",
        "connection was dropped by remote host",
        "connections not accepted from ip addresses on spamhaus xbl",
        "currently sending spam see: ", "domain does not exist:",
        "dynamic/zombied/spam ips blocked", "error: no valid recipients from ",
        "esmtp not accepting connections", "extreme bad ip profile", "go away",
        "helo command rejected:", "host network not allowed", "hosts with dynamic ip",
        "invalid ip for sending mail of domain", "is in a black list",
        "is not allowed to send mail from", "no access from mail server",
        "no matches to nameserver query", "not currently accepting mail from your ip",
        "part of their network is on our block list", "please use the smtp server of your isp",
        "refused - see http", "rejected - multi-blacklist",
        "rejected because the sending mta or the sender has not passed validation",
        "rejecting open proxy", "sender ip address rejected", "server access forbidden by your ip ",
        "service not available, closing transmission channel",
        "smtp error from remote mail server after initial connection:",
        "sorry, that domain isn't in my list of allowed rcpthosts",
        "sorry, your remotehost looks suspiciously like spammer",
        "temporarily deferred due to unexpected volume or user complaints",
        "to submit messages to this e-mail system has been rejected", "too many spams from your ip",
        "too many unwanted messages have been sent from the following ip address above",
        "was blocked by ", "we do not accept mail from dynamic ips",
        "you are not allowed to connect", "you are sending spam",
        "your ip address is listed in the rbl", "your network is temporary blacklisted",
        "your server requires confirmation", "listed in", "blacklist", "blocklist", "block list",
        "ip blocked", "ip address blocked", "client host rejected", "spamhaus", "dnsbl", " rbl",
        "has been blocked", "blocked by", ("(", "@", ":blocked)"),
        ("access from ip address ", " blocked"), ("client host ", " blocked using"),
        ("connections will not be accepted from ", " because the ip is in spamhaus's list"),
        ("dnsbl:rbl ", ">_is_blocked"), ("email blocked by ", ".barracudacentral.org"),
        ("email blocked by ", "spamhaus"), ("host ", " refused to talk to me: ", " blocked"),
        ("ip ", " is blocked by earthlink"), ("is in an ", "rbl on "),
        ("mail server at ", " is blocked"), ("mail from ", " refused:"),
        ("message from ", " rejected based on blacklist"),
        ("messages from ", " temporarily deferred due to user complaints"),
        ("server ip ", " listed as abusive"), ("sorry! your ip address", " is blocked by rbl"),
        ("the domain ", " is blacklisted"), ("the email ", " is blacklisted"),
        ("the ip", " is blacklisted"), ("your access ip", " has been rejected"),
        ("your sender's ip address is listed at ", ".abuseat.org"),
    ),
    "virusdetected": (
        "it has a potentially executable attachment", "message was identified as a virus",
        "the message was rejected because it contains prohibited virus or spam content",
        "this form of attachment has been used by recent viruses or other malware",
        "virus detected", "virus phishing/malicious_url detected",
        "your message was infected with a virus", "virus found", "infected with",
        "contains a virus", "malware",
    ),
    "policyviolation": (
        "denied by policy", "an illegal attachment on your message",
        "because the recipient is not accepting mail with attachments",
        "because the recipient is not accepting mail with embedded images",
        "by the recipient's organization security policy", "email not accepted for policy reasons",
        "email rejected due to security policies", "header are not accepted", "header error",
        "local policy violation", "message bounced due to organizational settings",
        "message given low priority", "message not accepted for policy reasons",
        "message rejected due to local policy", "messages with multiple addresses",
        "rejected for policy reasons", "protocol violation",
        "the email address used to send your message is not subscribed to this group",
        "the message was rejected by organization policy",
        "this message was blocked because its content presents a potential",
        "we do not accept messages containing images or other attachments",
        "you're using a mass mailer", "policy violation", "violates our policy",
        "rejected by policy", "policy rejection", "blocked by the recipient's organization",
        "due to policy", "policy reasons", "organization policy",
        "message rejected by local policy",
    ),
    "systemerror": (
        "upstream error", "unable to contact ldap server",
        "unable to deliver message after multiple retries", "transaction failed",
        "aliasing/forwarding loop broken", "can't create user output file",
        "could not load drd for domain", "internal error reading data",
        "internal server error: operation now in progress", "interrupted system call",
        "it encountered an error while being processed", "it would create a mail loop",
        "local configuration error", "local error in processing",
        "loop was found in the mail exchanger", "loops back to myself",
        "mail system configuration error", "recipient deferred because there is no mdb",
        "remote server is misconfigured", "server configuration error",
        "service currently unavailable", "system config error", "temporary local problem",
        "timeout waiting for input", "transaction failed ", "mail for ", "system error",
        "internal error", "configuration error", "unable to deliver message due to internal",
        "mailbox unavailable (internal error)",
    ),
    "networkerror": (
        "name service error", "malformed or unexpected name server reply",
        "host not found, try again", "wasn't able to establish an smtp connection",
        "dns query failed", "network error", "too many hops",
        "forwarded more than the maximum allowed times", "routing loop", "mail loop",
        "loop detected", " had no relevant answers.", "because of network troubles",
        "dns records for the destination computer could not be found", "host is unreachable",
        "host name lookup failure", "host not found, try again",
        "maximum forwarding loop count exceeded", "no route to host", "too many hops",
        "unable to resolve route ", "unrouteable mail domain", "could not be resolved",
        "network is unreachable", "dns error",
    ),
    "systemfull": (
        "insufficient disk space", "mail system full",
        "requested mail action aborted: exceeded storage allocation", "insufficient system storage",
        "insufficient system resources", "disk full",
    ),
    "notaccept": (
        "couldn't find a mail exchanger or ip address", "no mx record found for domain",
        "no mx found", "an mx or srv record indicated no smtp service",
        "doesn't receive email according to the administrator", "host/domain does not accept mail",
        "host does not accept mail", "mail receiving disabled", "no mx record found for domain=",
        "no route for current request", "smtp protocol returned a permanent error",
        "does not accept mail", "null mx", "nullmx", "accepts no mail", "not accepting mail",
    ),
    "expired": (
        "host not reachable", "connection timed out", "could not find a gateway for",
        "delivery attempts will continue to be", "delivery expired", "delivery time expired",
        "failed to deliver to domain ", "giving up on", "have been failing for a long time",
        "has been delayed", "it has not been collected after",
        "message expired after sitting in queue for",
        "message expired, cannot connect to remote server", "message expired, connection refulsed",
        "message timed out", "retry time not reached for any host after a long failure period",
        "server did not respond", "this message has been in the queue too long",
        "was not reachable within the allowed queue period",
        "your message could not be delivered for more than", "retry timeout exceeded",
        "message could not be delivered for", "timed out", "time out", "timeout",
        "could not be delivered within", "queue too long", "too long in the queue", "expired",
        "no answer from host", "delivery retry timeout", "delayed", "giving up",
        "did not accept our requests to connect", ("delivery failed ", " attempts"),
        "not delivered within", "could not deliver for the last", "retry time exceeded",
    ),
    "failedstarttls": (
        "does not support tls", "tls negotiation failed", "starttls is required to send mail",
        "tls required but not supported", "tls is required", "must issue a starttls command first",
        "requiretls", "starttls required", "tls required",
    ),
    "securityerror": (
        "turn on smtp authentication", "smtp authentication is required",
        "account not subscribed to ses", "authentication credentials invalid",
        "authentication failure", "authentication required",
        "authentication turned on in your email client",
        "executable files are not allowed in compressed files", "insecure mail relay",
        "recipient address rejected: access denied",
        "sorry, you don't authenticate or the domain isn't in my list of allowed rcpthosts",
        "tls required but not supported", "unauthenticated senders not allowed",
        "user not authenticated", "verification failure",
        "you are not authorized to send mail, authentication is required",
        "authentication is required", "must be authenticated", "not authenticated",
    ),
    "mailererror": (
        " || exit ", "procmail: ", "bin/procmail", "bin/maidrop", "command failed: ",
        "command died with status ", "command output:", "mailer error", "pipe to |/", "x-unix; ",
        "mail.local", "generated by procmail", "shell command failed",
    ),
    "syntaxerror": (
        "malformed address", "incorrectly constructed", "command parameter not implemented",
        "parameter not implemented", "syntax error", "command unrecognized",
        "command not recognized", "unrecognized command", "bad sequence of commands",
    ),
    "vacation": (
        "i am away on vacation", "i am away until", "i am out of the office",
        "i will be traveling for work on", "out of office", "i am currently away", "auto-reply",
        "autoreply", "automatic reply",
    ),
}

# Non-English reports: what MTAs localised to German, French, Spanish, Portuguese, Italian,
# Dutch and Japanese write for the commonest failures. These are the reporting MTA's own
# words (a remote reply would carry its English text and code), so, like MTA_USERUNKNOWN, they
# name a missing mailbox whatever the SMTP command was. Lower-case; a tuple is fragments in
# that order.
LOCALISED_USERUNKNOWN = (
    # de
    "benutzer unbekannt", "unbekannter benutzer", "empfänger unbekannt", "unbekannter empfänger",
    "adresse unbekannt", ("postfach", "existiert nicht"), ("adresse", "existiert nicht"),
    ("benutzer", "existiert nicht"), ("empfänger", "existiert nicht"),
    ("e-mail-adresse", "nicht gefunden"), "empfänger ist unbekannt", "benutzer ist unbekannt",
    "adresse ist unbekannt", "unbekannte adresse", "unbekannte e-mail-adresse",
    ("mailbox", "existiert nicht"),
    # fr
    "destinataire inconnu", "adresse inconnue", ("adresse", "n'existe pas"),
    ("destinataire", "n'existe pas"), ("utilisateur", "n'existe pas"), ("adresse", "introuvable"),
    "adresse e-mail inconnue", "adresse électronique inconnue", "destinataire introuvable",
    "utilisateur inexistant", "adresse inexistante", "compte inexistant",
    # es
    "usuario desconocido", "destinatario desconocido", "dirección desconocida",
    ("usuario", "no existe"), ("dirección", "no existe"), ("buzón", "no existe"),
    ("cuenta", "no existe"), "no se encontró la dirección", "usuario inexistente",
    "dirección inexistente", "cuenta inexistente", "buzón inexistente",
    # pt
    "usuário desconhecido", "usuario desconhecido", "utilizador desconhecido",
    "destinatário desconhecido", ("endereço", "não existe"), ("usuário", "não existe"),
    ("conta", "não existe"), ("caixa postal", "não existe"), "usuário inexistente",
    "utilizador inexistente", "endereço inexistente", "conta inexistente",
    # it
    "utente sconosciuto", "destinatario sconosciuto", "indirizzo sconosciuto", "utente inesistente",
    "indirizzo inesistente", ("indirizzo", "non esiste"), ("utente", "non esiste"),
    ("casella", "non esiste"), "casella inesistente", "account inesistente",
    # nl
    "onbekende gebruiker", "gebruiker onbekend", "onbekende ontvanger", "ontvanger onbekend",
    ("adres", "bestaat niet"), ("gebruiker", "bestaat niet"), ("postvak", "bestaat niet"),
    ("mailbox", "bestaat niet"), "onbekend adres", "adres onbekend",
    # ja
    "宛先不明", ("アドレス", "存在しません"), ("ユーザ", "存在しません"), ("宛先", "存在しません"),
    ("アカウント", "存在しません"), "ユーザが見つかりません", "ユーザーが見つかりません",
    "宛先が見つかりません", "存在しないユーザ", "存在しないアドレス",
)
LOCALISED_MAILBOXFULL = (
    "postfach voll", "postfach ist voll", "mailbox voll", "quota überschritten",
    "speicherplatz des empfängers ist erschöpft", "postfach überfüllt", "speicherplatz überschritten",
    "kontingent überschritten",
    "boîte aux lettres pleine", "boite aux lettres pleine", "boîte aux lettres est pleine",
    "boîte de réception est pleine", "quota dépassé", "boîte pleine", "quota atteint",
    "buzón lleno", "buzon lleno", ("buzón", "está lleno"), "cuota excedida", "cuota superada",
    "caixa postal cheia", "caixa de correio cheia", "caixa de entrada cheia", "cota excedida",
    ("caixa postal", "está cheia"), ("caixa de correio", "está cheia"),
    "quota excedida",
    "casella piena", "casella di posta piena", ("casella", "è piena"), "quota superata",
    "spazio esaurito", "quota esaurita",
    "mailbox is vol", "mailbox vol", "postvak is vol", "postvak vol", "quotum overschreden",
    "mailbox zit vol", "postvak zit vol", "quotum bereikt",
    "容量がいっぱい", "容量オーバー", "容量超過", "メールボックスがいっぱい", "メールボックスが一杯",
    "容量を超え",
)
PHRASES["userunknown"] += LOCALISED_USERUNKNOWN
# Not a reason: a marker the phrase index reports alongside "userunknown", so that the
# classifier knows the words were an MTA's own (see classify.reason_for).
LOCALISED_MARK = "localised-userunknown"
PHRASES[LOCALISED_MARK] = LOCALISED_USERUNKNOWN
PHRASES["mailboxfull"] += LOCALISED_MAILBOXFULL

# Texts that MTAs write themselves (not a remote server's reply) and that name a missing
# mailbox whatever the SMTP command was.
MTA_USERUNKNOWN = (
    "invalid final delivery userid", "and other recipients in the same domain",
    "no valid recipients for this mm", "not listed in domino directory",
    "resolver.adr.recipientnotfound", "resolver.adr.recipnotfound",
    "remote server returned unknown recipient", "address wasn’t found at the destination domain",
    "address wasn't found at the destination domain", "address couldn't be found", "unknown user:",
    "recipient name is not recognized", "not listed in public name & address book",
    # Exchange Online's directory-based edge blocking: the tenant has no such recipient.
    "5.4.1 recipient address rejected: access denied",
)

# A status code's reason that these phrase reasons overrule ("5.1.1 ... over quota").
OVERRULED_BY = {
    "userunknown": ("mailboxfull", "blocked", "hasmoved", "rejected", "notaccept", "mailererror", "speeding",
                    "filtered"),
    "hostunknown": ("networkerror", "notaccept"),
}
# Status-derived reasons weaker than any phrase in the first pass (5.6.0 "scored as spam").
STATUS_AFTER_PHRASES = frozenset({"contenterror", "filtered", "notaccept"})
# Resolver trouble that says "try later", not "no such domain".
RESOLVER_TROUBLE = (
    "host not found, try again", "malformed or unexpected name server reply",
    "temporary failure in name resolution", "dns query failed", "no route to host",
    "server failure", "servfail",
)

# The order reasons are tried in. Specific, recipient-level reasons come before broad
# host-level ones because bounce texts often carry both ("550 5.7.1 ... blocked ... over quota").
FIRST_PASS = (
    "mailboxfull", "mesgtoobig", "exceedlimit", "suspend", "hasmoved", "norelaying", "authfailure",
    "userunknown", "filtered", "requireptr", "notcompliantrfc", "badreputation", "contenterror",
    "rejected", "notaccept", "hostunknown", "spamdetected", "speeding", "toomanyconn", "blocked",
)
SECOND_PASS = (
    "mailboxfull", "authfailure", "badreputation", "speeding", "spamdetected", "virusdetected",
    "policyviolation", "norelaying", "systemerror", "networkerror", "suspend", "contenterror",
    "systemfull", "notaccept", "expired", "failedstarttls", "securityerror", "mailererror",
    "syntaxerror",
)

# Reasons Sisimai marks hard (notaccept only with a 5xx code, handled in classify()).
HARD_REASONS = frozenset({"userunknown", "hostunknown", "hasmoved"})
