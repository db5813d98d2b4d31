import json

from django.conf import settings
from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from apps.core.errors import ValidationError
from apps.devtools import selectors, services
from apps.outbox import selectors as outbox_selectors
from apps.outbox import signing


@csrf_exempt
@require_http_methods(["GET", "POST"])
def data_platform_events(request):
    """A stand-in for the data platform in development: POST receives an event, GET lists arrivals.

    Answers only with DEBUG on, even where the app is installed: it takes unauthenticated POSTs.
    """
    if not settings.DEBUG:
        raise Http404
    if request.method == "GET":
        context = {"events": selectors.recent_received_events(), "counts": outbox_selectors.outbox_counts()}
        return render(request, "devtools/received_events.html", context)
    if not signing.verify(request.body, request.headers.get("X-Signature", "")):
        return JsonResponse({"error": "The X-Signature header does not match the body."}, status=401)
    try:
        body = json.loads(request.body)
        received = services.record_received_event(body=body if isinstance(body, dict) else {}, request_id=request.headers.get("X-Request-ID", ""))
    except (ValueError, ValidationError) as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    return JsonResponse({"received": str(received.event_id)}, status=202)
