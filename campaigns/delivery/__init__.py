"""The sending path: generate, send one message, classify its failure, retry or give up.

Modules by sub-domain: ``errors`` (what a send can raise), ``classify`` (SMTP/Anymail failure →
hard/soft/transient with a reason), ``retry_policy`` (the countdown schedule), ``throttle``
(recipient-domain throttles in Redis), ``generators`` (subject and body), ``headers`` (the
correlation, Feedback-ID and unsubscribe headers), ``launch``, ``send`` and ``reconcile`` (the
services the tasks and commands call).
"""
