"""ESP tracking webhooks: per-ESP classification, normalisation and signature checks.

Anymail parses each ESP's webhook into AnymailTrackingEvents; Anymail's ``bounced`` does not
mean hard (SES Transient, Postmark SoftBounce, Brevo soft_bounce all arrive as ``bounced``), so
``verdicts`` reads the raw ``esp_event`` and ``status`` the RFC 3463 code, ``normalize`` turns an
event into a draft the recording service stores, ``sns`` verifies Amazon SNS signatures, and
``views`` wraps Anymail's views so one request's events are written in one batch.
"""
