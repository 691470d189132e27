"""Result types of the bounce parser: plain dataclasses, JSON-friendly via ``to_dict()``."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


class Kind:
    """What a parsed message is, as a whole."""

    BOUNCE = "bounce"  # at least one recipient failed permanently or was given up on
    DELAY = "delay"  # a delivery-delay warning: the MTA is still retrying
    COMPLAINT = "complaint"  # an ARF/feedback-loop abuse or opt-out report
    AUTO_REPLY = "auto_reply"  # vacation / out-of-office / RFC 3834 auto-response
    NOT_BOUNCE = "not_bounce"  # ordinary mail, a success report, or nothing understood


class Category:
    """How the sending pipeline should treat one recipient."""

    HARD = "hard"  # the address is dead: suppress it (Sisimai's hard flag)
    SOFT = "soft"  # refused for a reason that may change (block, full, policy...)
    TRANSIENT = "transient"  # throttling / greylisting: retry later, it is not the address
    COMPLAINT = "complaint"  # the recipient complained: suppress, never mail again
    NONE = ""  # not a delivery failure (auto-reply, delivered)


@dataclass
class RecipientResult:
    """One recipient named in a report, with what happened to it."""

    address: str
    action: str = ""
    status: str = ""
    smtp_code: str = ""
    diagnostic: str = ""
    remote_mta: str = ""
    category: str = ""
    reason: str = ""
    detail: str = ""
    hard: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class BounceReport:
    """Everything ``parse()`` understood about one message.

    ``parse_error`` is set (and ``kind`` is ``not_bounce``) only when the message could not be
    read at all; an ordinary non-bounce has ``parse_error`` None.
    """

    kind: str = Kind.NOT_BOUNCE
    recipients: list[RecipientResult] = field(default_factory=list)
    message_id: str | None = None
    correlation: str | None = None
    verp_token: str | None = None
    original_subject: str | None = None
    mta: str | None = None
    feedback_type: str | None = None
    parse_error: str | None = None

    @property
    def failed(self) -> list[RecipientResult]:
        """Recipients whose delivery failed (bounce) or is delayed (delay)."""
        return [r for r in self.recipients if r.action in ("failed", "delayed")]

    def to_dict(self) -> dict:
        return asdict(self)
