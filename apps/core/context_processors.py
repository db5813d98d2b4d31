from django.conf import settings


def shop(request):
    """What every page's layout needs from the project itself: the currency."""
    return {"CURRENCY": settings.CURRENCY}
