from django.core.management.base import BaseCommand

from apps.rankings.services import rebuild_rankings


class Command(BaseCommand):
    help = (
        "Recompute the daily, weekly and monthly sales tables from the paid orders (payment day in settings.TIME_ZONE) "
        "and reload the Redis sets from them. Safe while the shop runs: the rankings consumer waits, then carries on "
        "with the events committed after the rebuild."
    )

    def handle(self, *args, **options):
        result = rebuild_rankings()
        self.stdout.write(
            self.style.SUCCESS(
                f"Rebuilt the rankings from {result.orders} paid orders over {result.days} days; {result.events_marked} events recorded as counted."
            )
        )
