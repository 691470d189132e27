"""The one receiver of Anymail's ``tracking`` signal: it hands each event to the service."""
from anymail.signals import tracking
from django.dispatch import receiver

from bounces.tracking import tracking_event_receive


@receiver(tracking, dispatch_uid="lockline.bounces.tracking")
def tracking_event_received(sender, event, esp_name, **kwargs) -> None:
    # Never raises on a bad event: the service flags what it cannot read (Anymail would turn
    # an exception into a 500 and the ESP would retry the bad event forever).
    tracking_event_receive(event=event, esp_name=esp_name)
