"""Prompt versions side by side: rates with their counts, Wilson intervals and a trouble flag.

A campaign's messages may come from several prompt versions (a new version rolled out midway,
an A/B split). Each version is compared with its campaign's baseline: the pooled rate of all
the campaign's sends. A version is flagged when its whole 95% Wilson interval for the hard
bounce or the complaint rate lies above that baseline, so a handful of sends never raises a
flag, and a format that really does trip filters does.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from analytics.aggregates import Metrics, metrics_by
from analytics.stats import rate, significantly_above, wilson_interval


@dataclass(frozen=True)
class RateCell:
    count: int
    sends: int

    @property
    def rate(self) -> float | None:
        return rate(self.count, self.sends)

    @property
    def interval(self) -> tuple[float, float]:
        # A window can hold a bounce whose send fell before it: never more successes than trials.
        return wilson_interval(min(self.count, self.sends), self.sends)


@dataclass(frozen=True)
class VersionComparison:
    campaign_id: int
    campaign: str
    prompt_version_id: int
    prompt_version: str
    metrics: Metrics
    bounce: RateCell
    complaint: RateCell
    content: RateCell
    baseline_bounce_rate: float | None
    baseline_complaint_rate: float | None
    bounce_flag: bool
    complaint_flag: bool

    @property
    def flagged(self) -> bool:
        return self.bounce_flag or self.complaint_flag


def prompt_version_compare(
    *, since: datetime | None = None, until: datetime | None = None, campaign_id: int | None = None
) -> list[VersionComparison]:
    """One row per (campaign, prompt version) with sends, rates, intervals and flags."""
    baselines = {m.key[0]: m for m in metrics_by("campaign", since=since, until=until, campaign_id=campaign_id)}
    rows = []
    for m in metrics_by("campaign", "prompt_version", since=since, until=until, campaign_id=campaign_id):
        campaign_key, version_key = m.key
        if campaign_key is None or version_key is None:
            continue
        base = baselines[campaign_key]
        base_bounce, base_complaint = base.bounce_rate, base.complaint_rate
        campaign_label, _, version_label = m.label.partition(" / ")
        rows.append(
            VersionComparison(
                campaign_id=campaign_key,
                campaign=campaign_label,
                prompt_version_id=version_key,
                prompt_version=version_label,
                metrics=m,
                bounce=RateCell(m.hard, m.sends),
                complaint=RateCell(m.complaints, m.sends),
                content=RateCell(m.content_caused, m.sends),
                baseline_bounce_rate=base_bounce,
                baseline_complaint_rate=base_complaint,
                bounce_flag=base_bounce is not None and significantly_above(min(m.hard, m.sends), m.sends, base_bounce),
                complaint_flag=base_complaint is not None
                and significantly_above(min(m.complaints, m.sends), m.sends, base_complaint),
            )
        )
    return rows
