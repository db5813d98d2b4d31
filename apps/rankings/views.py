from django.shortcuts import render

from apps.rankings import selectors

PAGE_LIMIT = 24
TABS = [(selectors.Period.DAY, "Today"), (selectors.Period.WEEK, "This week"), (selectors.Period.MONTH, "This month")]


def rankings(request):
    """Best sellers of today, this week or this month (`?period=`; anything else shows today)."""
    period = request.GET.get("period")
    if period not in selectors.Period.CHOICES:
        period = selectors.Period.DAY
    ranking = selectors.calendar_ranking(period=period, day=selectors.local_today(), limit=PAGE_LIMIT)
    return render(request, "rankings/rankings.html", {"ranking": ranking, "tabs": TABS, "current_label": dict(TABS)[period]})
