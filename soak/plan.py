"""What a soak run sends, and what each recipient must end as.

Recipients answer by the local part prefix the SMTP sink knows (see ``seed_demo``'s outcomes),
in fixed proportions, so the expected end state of every message is known before the run.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Outcome:
    name: str
    prefix: str  # local-part prefix the sink answers by
    share: float  # fraction of the campaign
    final_states: tuple[str, ...]  # Message states this recipient may end in
    may_be_suppressed: bool  # whether its address may end suppressed
    accepted: bool  # whether the sink ends up accepting it (exactly once)


OUTCOMES = (
    Outcome("250 accepted", "", 0.62, ("sent",), False, True),
    Outcome("550 5.1.1 user unknown", "unknown.", 0.10, ("bounced",), True, False),
    Outcome("552 5.2.2 mailbox full", "full.", 0.06, ("failed", "suppressed"), True, False),
    Outcome("421 4.3.2 service unavailable", "down.", 0.06, ("failed", "suppressed"), True, False),
    Outcome("450 4.7.1 greylisted, then 250", "greylist.", 0.10, ("sent",), False, True),
    Outcome("554 5.7.1 refused as spam", "blocked.", 0.06, ("failed", "bounced"), False, False),
)


# Prefixes the soak puts in front of an accepting address: `late.` (accepted, then bounced by a
# DSN) and `slow.` (stalls at RCPT once, for the worker kill). The rest of the address decides.
RUN_PREFIXES = ("late.", "slow.")


def outcome_for(email: str) -> Outcome:
    for prefix in RUN_PREFIXES:
        email = email.removeprefix(prefix)
    local = email.partition("@")[0]
    for outcome in OUTCOMES[1:]:
        if local.startswith(outcome.prefix):
            return outcome
    return OUTCOMES[0]


def recipients(total: int) -> list[str]:
    """``total`` addresses in the planned proportions, interleaved so every phase of the run
    (and every fault) meets every kind of recipient."""
    counts = [round(total * o.share) for o in OUTCOMES]
    counts[0] += total - sum(counts)
    kinds = []
    for index, count in enumerate(counts):
        kinds.extend([index] * count)
    # Deterministic interleave: stride through the list.
    stride = 7919  # prime, so the stride visits every slot once
    ordered = [kinds[(i * stride) % total] for i in range(total)]
    return [f"{OUTCOMES[k].prefix}lead{i}@soak{i % 50}.example" for i, k in enumerate(ordered)]
