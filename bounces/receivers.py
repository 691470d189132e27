"""Anymail signal receivers: each hands its event to a service, nothing more."""
from __future__ import annotations

from anymail.signals import AnymailInboundEvent, inbound, tracking
from django.dispatch import receiver

from bounces.ingest import inbound_mail_ingest
from bounces.tracking import tracking_event_receive


@receiver(tracking, dispatch_uid="lockline.bounces.tracking")
def tracking_event_received(sender, event, esp_name, **kwargs) -> None:
    # Never raises on a bad event: the service flags what it cannot read (Anymail would turn
    # an exception into a 500 and the ESP would retry the bad event forever).
    tracking_event_receive(event=event, esp_name=esp_name)


@receiver(inbound, dispatch_uid="lockline.bounces.inbound")
def inbound_received(sender, event: AnymailInboundEvent, esp_name: str, **kwargs) -> None:
    """An ESP's inbound route forwarded a message to our bounce address: ingest it.

    Processed inline (one message is a parse and a few queries): if our database fails, the view
    answers 5xx and the ESP retries, so nothing is lost; a message the parser cannot read is
    stored and flagged, never raised.
    """
    inbound_mail_ingest(raw=event.message.as_bytes(), origin="webhook", origin_ref=esp_name)
