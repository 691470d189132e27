"""Launch a campaign by name or id (idempotent)."""
from django.core.management.base import BaseCommand, CommandError

from campaigns.delivery.launch import CampaignLaunchError, campaign_launch
from campaigns.models import Campaign


class Command(BaseCommand):
    help = (
        "Create and enqueue a message for every eligible lead of a campaign (name or id). "
        "Idempotent: leads already messaged in it are skipped, so running it again only adds new leads."
    )

    def add_arguments(self, parser):
        parser.add_argument("campaign", help="the campaign's name or id")

    def handle(self, *args, **options):
        ref = options["campaign"]
        campaign = Campaign.objects.filter(pk=int(ref)).first() if ref.isdigit() else None
        campaign = campaign or Campaign.objects.filter(name=ref).order_by("-created_at").first()
        if campaign is None:
            raise CommandError(f"No campaign named or numbered {ref!r}.")
        try:
            result = campaign_launch(campaign=campaign)
        except CampaignLaunchError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Campaign {campaign.name!r} launched: {result.created} new messages queued.")
