from celery import shared_task


@shared_task(ignore_result=True)
def reputation_guard_run() -> int:
    """Pause campaigns and prompt versions whose bounce or complaint rate crossed the guard's lines."""
    from analytics.guard import reputation_guard_run as run

    return len(run())


@shared_task(ignore_result=True)
def lead_feature_all() -> int:
    """Nightly: rescore every lead and retag the featured ones. Idempotent (set-based)."""
    from analytics.featured import lead_feature_all as feature

    return feature().featured
