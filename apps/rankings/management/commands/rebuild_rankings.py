from datetime import date

from django.core.management.base import BaseCommand, CommandError

from apps.core.errors import ConcurrentUpdate
from apps.rankings.services import rebuild_daily_sales


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"{value!r} is not a date in YYYY-MM-DD form.") from exc


class Command(BaseCommand):
    help = "Recount the daily product sales of a date range from the orders (days in settings.TIME_ZONE)."

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="first_day", required=True, help="first day, YYYY-MM-DD")
        parser.add_argument("--to", dest="last_day", required=True, help="last day, YYYY-MM-DD (inclusive)")

    def handle(self, *args, first_day: str, last_day: str, **options):
        first, last = _day(first_day), _day(last_day)
        if first > last:
            raise CommandError("--from must not be after --to.")
        try:
            recounted = rebuild_daily_sales(first_day=first, last_day=last)
        except ConcurrentUpdate as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(self.style.SUCCESS(f"Rebuilt daily sales {first}..{last}: {recounted} orders recounted."))
