"""Anymail signal receivers: hand each event to a service, nothing more."""
from __future__ import annotations

from anymail.signals import AnymailInboundEvent

from bounces.ingest import inbound_mail_ingest


def inbound_received(sender, event: AnymailInboundEvent, esp_name: str, **kwargs) -> None:
    """An ESP's inbound route forwarded a message to our bounce address: ingest it.

    Processed inline (one message is a parse and a few queries): if our database fails, the view
    answers 5xx and the ESP retries, so nothing is lost; a message the parser cannot read is
    stored and flagged, never raised.
    """
    inbound_mail_ingest(raw=event.message.as_bytes(), origin="webhook", origin_ref=esp_name)
