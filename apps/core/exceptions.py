"""One DRF exception handler: every API error leaves as {"error": {"code", "message", "details"}}."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from apps.core.errors import DomainError


def error_body(code: str, message: str, details: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def _validation_details(detail) -> dict:
    if isinstance(detail, dict):
        return {
            field: [str(m) for m in (messages if isinstance(messages, list) else [messages])]
            if not isinstance(messages, dict)
            else _validation_details(messages)
            for field, messages in detail.items()
        }
    if isinstance(detail, list):
        return {"non_field_errors": [str(m) for m in detail]}
    return {"non_field_errors": [str(detail)]}


def _code_for(exc: exceptions.APIException) -> tuple[int, str, str, dict]:
    if isinstance(exc, exceptions.ValidationError):
        return 400, "VALIDATION_ERROR", "Some fields are not valid.", _validation_details(exc.detail)
    if isinstance(exc, exceptions.NotAuthenticated):
        return 401, "NOT_AUTHENTICATED", str(exc.detail), {}
    if isinstance(exc, exceptions.AuthenticationFailed):
        return 401, "INVALID_CREDENTIALS", str(exc.detail), {}
    if isinstance(exc, exceptions.PermissionDenied):
        return 403, "PERMISSION_DENIED", str(exc.detail), {}
    if isinstance(exc, exceptions.NotFound):
        return 404, "NOT_FOUND", "Not found.", {}
    if isinstance(exc, exceptions.Throttled):
        return 429, "THROTTLED", "Too many requests; please slow down.", {"retry_after": exc.wait}
    if isinstance(exc, exceptions.MethodNotAllowed):
        return 405, "METHOD_NOT_ALLOWED", str(exc.detail), {}
    if isinstance(exc, exceptions.UnsupportedMediaType):
        return 415, "UNSUPPORTED_MEDIA_TYPE", str(exc.detail), {}
    if isinstance(exc, exceptions.NotAcceptable):
        return 406, "NOT_ACCEPTABLE", str(exc.detail), {}
    if isinstance(exc, exceptions.ParseError):
        return 400, "VALIDATION_ERROR", "The request body is not valid JSON.", {"body": [str(exc.detail)]}
    return exc.status_code, "ERROR", str(exc.detail), {}


def api_exception_handler(exc, context):
    if isinstance(exc, DomainError):
        return Response(error_body(exc.code, exc.message, exc.details), status=exc.status_code)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    status_code, code, message, details = _code_for(exc)
    response.status_code = status_code
    response.data = error_body(code, message, details)
    return response
