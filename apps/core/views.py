from django.http import JsonResponse
from django.shortcuts import render

from apps.core.exceptions import error_body


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def page_not_found(request, exception):
    if _is_api(request):
        return JsonResponse(error_body("NOT_FOUND", "Not found."), status=404)
    return render(request, "404.html", status=404)


def server_error(request):
    if _is_api(request):
        return JsonResponse(error_body("INTERNAL_ERROR", "Something went wrong on our side."), status=500)
    return render(request, "500.html", status=500)
