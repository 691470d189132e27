"""Correlation tokens: how a bounce that comes back days later finds the message it is about.

A token names a Message and carries an HMAC so nobody can forge a bounce (or an unsubscribe)
for a message they did not receive. It is all lower-case letters, digits and one hyphen,
because MTAs lower-case local parts and some strip anything unusual: it survives as the VERP
Return-Path's local part (``bounces+<token>@<mail domain>``), in the ``X-Lockline-Message-ID``
header, and inside our Message-ID.
"""
from __future__ import annotations

import functools
import hashlib
import hmac
import re

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

CORRELATION_HEADER = "X-Lockline-Message-ID"
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
_TOKEN_RE = re.compile(r"([0-9a-z]{1,13})-([0-9a-f]{12})")


def _base36(number: int) -> str:
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = _DIGITS[rest] + out
        if not number:
            return out


def _mac(body: str) -> str:
    mac = _keyed().copy()
    mac.update(body.encode())
    return mac.hexdigest()[:12]


@functools.cache
def _keyed():
    """The HMAC with SECRET_KEY already absorbed: copying it is cheaper than keying a new one,
    and a webhook batch checks a token per event. Built once; a change of SECRET_KEY (tests
    override it) clears it."""
    return hmac.new(f"lockline.message-token:{settings.SECRET_KEY}".encode(), digestmod=hashlib.sha256)


@receiver(setting_changed)
def _secret_key_changed(*, setting: str, **kwargs) -> None:
    if setting == "SECRET_KEY":
        _keyed.cache_clear()


def message_token(message_pk: int) -> str:
    body = _base36(message_pk)
    return f"{body}-{_mac(body)}"


def message_pk_from_token(token: str) -> int | None:
    """The Message pk a token names, or None if it is malformed or its MAC does not verify."""
    match = _TOKEN_RE.fullmatch((token or "").strip().lower())
    if not match:
        return None
    body, mac = match.groups()
    if not hmac.compare_digest(mac, _mac(body)):
        return None
    return int(body, 36)


def find_token(text: str) -> int | None:
    """The first valid token anywhere in ``text`` (a Return-Path, a Message-ID, a header)."""
    for match in _TOKEN_RE.finditer((text or "").lower()):
        pk = message_pk_from_token(match.group(0))
        if pk is not None:
            return pk
    return None


def verp_address(message_pk: int) -> str:
    return f"{settings.LOCKLINE_BOUNCE_LOCALPART}+{message_token(message_pk)}@{settings.LOCKLINE_MAIL_DOMAIN}"


UNSUBSCRIBE_LOCALPART = "unsubscribe"


def unsubscribe_address(message_pk: int) -> str:
    """The address of a message's mailto unsubscribe (RFC 8058's List-Unsubscribe mailto)."""
    return f"{UNSUBSCRIBE_LOCALPART}+{message_token(message_pk)}@{settings.LOCKLINE_MAIL_DOMAIN}"


def message_pk_from_unsubscribe_address(address: str) -> int | None:
    """The Message pk an ``unsubscribe_address`` names (its MAC verified), or None for any other
    address."""
    local, _, host = address.strip().lower().rpartition("@")
    prefix, plus, token = local.partition("+")
    if not plus or prefix != UNSUBSCRIBE_LOCALPART or host != settings.LOCKLINE_MAIL_DOMAIN.lower():
        return None
    return message_pk_from_token(token)


def rfc_message_id(message_pk: int) -> str:
    """Our Message-ID for a message, without angle brackets."""
    return f"{message_token(message_pk)}@{settings.LOCKLINE_MAIL_DOMAIN}"
