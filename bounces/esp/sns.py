"""Amazon SNS message signatures, which Anymail does not verify (its code says so).

Follows AWS's "Verifying the signatures of Amazon SNS messages": the signing certificate is
fetched only from ``https://sns.<region>.amazonaws.com/...pem`` (the region of the message's
own TopicArn), SignatureVersion 1 is RSA/SHA1 and 2 is RSA/SHA256 over the canonical
"Key\\nValue\\n" string of the message's type. Certificates are cached by URL. The fetcher is
a setting (LOCKLINE_SNS_CERTIFICATE_FETCHER) so tests serve their own certificate for a
pinned URL; the pinning itself is checked before any fetch.
"""
from __future__ import annotations

import base64
import binascii
import re
import threading
from datetime import datetime, timezone
from urllib.parse import urlsplit

from anymail.exceptions import AnymailWebhookValidationFailure
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from django.conf import settings
from django.utils.dateparse import parse_datetime
from django.utils.module_loading import import_string

from bounces.esp.normalize import signed_timestamp_ok

_HOST_RE = re.compile(r"sns\.([a-z]{2}(?:-[a-z]+)+-\d)\.amazonaws\.com")
_ARN_RE = re.compile(r"arn:aws:sns:([a-z]{2}(?:-[a-z]+)+-\d):\d{12}:[A-Za-z0-9_.-]{1,256}")

_SIGNED_KEYS = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
    "UnsubscribeConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
}
_HASHES = {"1": hashes.SHA1, "2": hashes.SHA256}

_CACHE_SIZE = 32
_cache: dict[str, x509.Certificate] = {}
_cache_lock = threading.Lock()


class SnsHttpError(Exception):
    """Fetching from AWS failed (network, timeout): an outage, so the request should be retried."""


def fetch_url(url: str) -> bytes:
    """GET a pinned AWS URL (a certificate, a SubscribeURL) with a timeout, no redirects."""
    import requests

    try:
        response = requests.get(url, timeout=settings.LOCKLINE_SNS_HTTP_TIMEOUT, allow_redirects=False)
    except requests.RequestException as exc:
        raise SnsHttpError(f"{url}: {exc}") from exc
    if response.status_code >= 500:
        raise SnsHttpError(f"{url}: HTTP {response.status_code}")
    if response.status_code != 200:
        raise AnymailWebhookValidationFailure(f"SNS URL {url} answered HTTP {response.status_code}")
    return response.content


def pinned_region(url: object) -> str:
    """The region of an https://sns.<region>.amazonaws.com/ URL; raises if it is anything else."""
    if not isinstance(url, str):
        raise AnymailWebhookValidationFailure("SNS URL missing")
    parts = urlsplit(url)
    host = parts.hostname or ""
    match = _HOST_RE.fullmatch(host)
    if (
        parts.scheme != "https"
        or match is None
        or parts.netloc != host  # no user:password@, no :port
        or "\\" in url
    ):
        raise AnymailWebhookValidationFailure(f"SNS URL {url!r:.200} is not https://sns.<region>.amazonaws.com")
    return match.group(1)


def _fetcher():
    return import_string(settings.LOCKLINE_SNS_CERTIFICATE_FETCHER)


def certificate(url: str) -> x509.Certificate:
    pinned_region(url)
    if not urlsplit(url).path.endswith(".pem"):
        raise AnymailWebhookValidationFailure("SNS SigningCertURL is not a .pem file")
    with _cache_lock:
        cached = _cache.get(url)
    if cached is not None:
        return cached
    try:
        cert = x509.load_pem_x509_certificate(_fetcher()(url))
    except ValueError as exc:
        raise AnymailWebhookValidationFailure(f"SNS signing certificate unreadable: {exc}") from exc
    with _cache_lock:
        if len(_cache) >= _CACHE_SIZE:
            _cache.pop(next(iter(_cache)))
        _cache[url] = cert
    return cert


def clear_certificate_cache() -> None:
    with _cache_lock:
        _cache.clear()


def string_to_sign(message: dict) -> bytes:
    keys = _SIGNED_KEYS[message["Type"]]
    lines = []
    for key in keys:
        if key == "Subject" and key not in message:
            continue
        value = message[key]
        if not isinstance(value, str):
            raise AnymailWebhookValidationFailure(f"SNS field {key} is not a string")
        lines.append(f"{key}\n{value}\n")
    return "".join(lines).encode("utf-8", "surrogatepass")


def verify(message: object) -> None:
    """Raise AnymailWebhookValidationFailure unless ``message`` is a genuine, fresh SNS message.

    Checks, in order: shape, TopicArn (and the LOCKLINE_SNS_TOPIC_ARNS allow-list), the
    certificate URL's pinning to the topic's region, the timestamp window, the certificate's
    validity period, the signature. A SubscribeURL must be pinned the same way.
    """
    if not isinstance(message, dict) or message.get("Type") not in _SIGNED_KEYS:
        raise AnymailWebhookValidationFailure("not an SNS message")
    missing = [k for k in ("MessageId", "Timestamp", "TopicArn", "Signature", "SignatureVersion", "SigningCertURL",
                           "Message") if not isinstance(message.get(k), str)]
    if missing:
        raise AnymailWebhookValidationFailure(f"SNS message lacks {', '.join(missing)}")
    topic = _ARN_RE.fullmatch(message["TopicArn"])
    if topic is None:
        raise AnymailWebhookValidationFailure("SNS TopicArn malformed")
    allowed = settings.LOCKLINE_SNS_TOPIC_ARNS
    if allowed and message["TopicArn"] not in allowed:
        raise AnymailWebhookValidationFailure(f"SNS topic {message['TopicArn']} is not in LOCKLINE_SNS_TOPIC_ARNS")
    if pinned_region(message["SigningCertURL"]) != topic.group(1):
        raise AnymailWebhookValidationFailure("SNS SigningCertURL is not in the topic's region")
    if message["Type"] != "Notification" and pinned_region(message.get("SubscribeURL")) != topic.group(1):
        raise AnymailWebhookValidationFailure("SNS SubscribeURL is not in the topic's region")
    hash_class = _HASHES.get(message["SignatureVersion"])
    if hash_class is None:
        raise AnymailWebhookValidationFailure(f"SNS SignatureVersion {message['SignatureVersion']!r:.20} unsupported")
    try:
        timestamp = parse_datetime(message["Timestamp"])
    except ValueError:
        timestamp = None
    if timestamp is None or timestamp.tzinfo is None or not signed_timestamp_ok(timestamp):
        raise AnymailWebhookValidationFailure("SNS Timestamp missing or outside the tolerance window")
    try:
        signature = base64.b64decode(message["Signature"], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise AnymailWebhookValidationFailure("SNS Signature is not base64") from exc
    cert = certificate(message["SigningCertURL"])
    now = datetime.now(timezone.utc)
    if not (cert.not_valid_before_utc <= now <= cert.not_valid_after_utc):
        raise AnymailWebhookValidationFailure("SNS signing certificate expired or not yet valid")
    public_key = cert.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise AnymailWebhookValidationFailure("SNS signing certificate has no RSA key")
    try:
        public_key.verify(signature, string_to_sign(message), padding.PKCS1v15(), hash_class())
    except InvalidSignature as exc:
        raise AnymailWebhookValidationFailure("SNS signature does not verify") from exc


def confirm_subscription(message: dict) -> None:
    """Confirm a verified SubscriptionConfirmation by GETting its (pinned) SubscribeURL."""
    pinned_region(message.get("SubscribeURL"))
    _fetcher()(message["SubscribeURL"])
