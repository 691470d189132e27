"""The email for one Message, with everything a later bounce or complaint is matched by.

- ``Message-ID: <token@LOCKLINE_MAIL_DOMAIN>`` and ``X-Lockline-Message-ID: <token>``: the signed
  correlation token (campaigns/tokens.py) in headers most DSNs and ESP events quote back;
- over SMTP, the envelope sender (Return-Path) is the VERP address ``bounces+<token>@...``, so a
  DSN names the message even when it quotes nothing; the From header stays the campaign's
  sender;
- for an ESP (an Anymail backend), Anymail ``metadata`` with the message id, campaign and prompt
  version, which the ESP's webhooks echo back;
- ``Feedback-ID: p<id>-<prompt name>-v<version>:c<campaign id>:outreach:lockline`` (Gmail's
  feedback loop reports spam rates per Feedback-ID field, so complaints show per prompt version);
- RFC 8058 one-click unsubscribe: ``List-Unsubscribe`` with an https URL and a mailto, and
  ``List-Unsubscribe-Post: List-Unsubscribe=One-Click``.
"""
from __future__ import annotations

from email.utils import formataddr

from anymail.message import AnymailMessage
from django.conf import settings
from django.urls import reverse
from django.utils.text import slugify

from campaigns.models import Message
from campaigns.tokens import CORRELATION_HEADER, message_token, rfc_message_id, unsubscribe_address, verp_address


def uses_esp() -> bool:
    """True when mail goes through an Anymail ESP backend rather than SMTP."""
    return settings.EMAIL_BACKEND.startswith("anymail.")


def feedback_id(message: Message) -> str:
    """Gmail Feedback-ID: up to four colon-separated fields, the most specific first."""
    prompt = message.prompt_version
    name = slugify(prompt.name)[:40] or "prompt"
    return f"p{prompt.pk}-{name}-v{prompt.version}:c{message.campaign_id}:outreach:lockline"


def unsubscribe_url(message: Message) -> str:
    return settings.SITE_URL + reverse("campaigns:unsubscribe", args=[message_token(message.pk)])


def unsubscribe_mailto(message: Message) -> str:
    return f"mailto:{unsubscribe_address(message.pk)}?subject=unsubscribe"


def message_email(message: Message, *, connection=None) -> AnymailMessage:
    """The EmailMessage for ``message`` (its campaign and prompt version loaded), ready to send."""
    campaign = message.campaign
    sender = formataddr((campaign.sender_name, campaign.sender_email)) if campaign.sender_name else campaign.sender_email
    token = message_token(message.pk)
    headers = {
        "Message-ID": f"<{rfc_message_id(message.pk)}>",
        CORRELATION_HEADER: token,
        "Feedback-ID": feedback_id(message),
        "List-Unsubscribe": f"<{unsubscribe_url(message)}>, <{unsubscribe_mailto(message)}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    if uses_esp():
        # The ESP sets its own Return-Path and reports bounces by webhook, with our metadata.
        email = AnymailMessage(subject=message.subject, body=message.body, from_email=sender,
                               to=[message.to_email], headers=headers, connection=connection)
        email.metadata = {
            "lockline_message_id": str(message.pk),
            "lockline_token": token,
            "campaign_id": str(message.campaign_id),
            "prompt_version_id": str(message.prompt_version_id),
        }
        email.tags = [f"prompt-version-{message.prompt_version_id}"]
        return email
    # Over SMTP the envelope sender is from_email: the VERP address; From stays the sender.
    headers["From"] = sender
    return AnymailMessage(subject=message.subject, body=message.body, from_email=verp_address(message.pk),
                          to=[message.to_email], headers=headers, connection=connection)
