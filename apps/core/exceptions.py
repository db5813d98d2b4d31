"""One DRF exception handler: every API error leaves as {"error": {"code", "message", "details"}}.

Domain errors (apps.core.errors) carry their own status and code; DRF's and Django's exceptions
are mapped to API.md's codes here. Anything else is a bug: it propagates and becomes a 500
(apps.core.views.server_error answers API paths with the same shape).
"""

import math

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from apps.core.errors import DomainError


def error_body(code: str, message: str, details: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def _messages(value):
    """DRF error detail → plain JSON: dicts stay dicts, lists of messages become lists of strings."""
    if isinstance(value, dict):
        return {str(key): _messages(item) for key, item in value.items()}
    if isinstance(value, list):
        if any(isinstance(item, dict | list) for item in value):
            return [_messages(item) for item in value]
        return [str(item) for item in value]
    return [str(value)]


def _validation_details(detail) -> dict:
    """API.md: `details` maps each field to a list of messages (nested for nested input)."""
    if isinstance(detail, dict):
        return _messages(detail)
    return {"non_field_errors": _messages(detail if isinstance(detail, list) else [detail])}


class RequestBodyTooLarge(exceptions.APIException):
    """A body over DATA_UPLOAD_MAX_MEMORY_SIZE: Django refuses to read it (RequestDataTooBig)."""

    status_code = 413
    default_detail = "The request body is too large."


def _code_for(exc: exceptions.APIException) -> tuple[int, str, str, dict]:
    if isinstance(exc, RequestBodyTooLarge):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return 413, "VALIDATION_ERROR", "The request body is too large.", {"body": [f"At most {limit} bytes are accepted."]}
    if isinstance(exc, exceptions.ValidationError):
        return 400, "VALIDATION_ERROR", "Some fields are not valid.", _validation_details(exc.detail)
    if isinstance(exc, exceptions.ParseError):
        return 400, "VALIDATION_ERROR", "The request body is not valid JSON.", {"body": [str(exc.detail)]}
    if isinstance(exc, exceptions.NotAuthenticated):
        return 401, "NOT_AUTHENTICATED", str(exc.detail), {}
    if isinstance(exc, exceptions.AuthenticationFailed):
        return 401, "INVALID_CREDENTIALS", str(exc.detail), {}
    if isinstance(exc, exceptions.PermissionDenied):
        return 403, "PERMISSION_DENIED", str(exc.detail), {}
    if isinstance(exc, exceptions.NotFound):
        return 404, "NOT_FOUND", "Not found.", {}
    if isinstance(exc, exceptions.MethodNotAllowed):
        return 405, "METHOD_NOT_ALLOWED", str(exc.detail), {}
    if isinstance(exc, exceptions.NotAcceptable):
        return 406, "NOT_ACCEPTABLE", str(exc.detail), {}
    if isinstance(exc, exceptions.UnsupportedMediaType):
        return 415, "UNSUPPORTED_MEDIA_TYPE", str(exc.detail), {}
    if isinstance(exc, exceptions.Throttled):
        retry_after = math.ceil(exc.wait) if exc.wait is not None else None
        return 429, "THROTTLED", "Too many requests; please slow down.", {"retry_after": retry_after}
    if exc.status_code >= 500:
        return exc.status_code, "INTERNAL_ERROR", "Something went wrong on our side.", {}
    return exc.status_code, "ERROR", str(exc.detail), {}


def api_exception_handler(exc, context):
    if isinstance(exc, DomainError):
        response = Response(error_body(exc.code, exc.message, exc.details), status=exc.status_code)
        if getattr(exc, "retry_after", None) is not None:
            response["Retry-After"] = str(exc.retry_after)
    else:
        response = _drf_error_response(exc, context)
    if response is not None and response.status_code == 401:
        response.setdefault("WWW-Authenticate", 'Token realm="api"')
    return response


def _drf_error_response(exc, context):
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    elif isinstance(exc, RequestDataTooBig):
        exc = RequestBodyTooLarge()
    elif isinstance(exc, TooManyFieldsSent):
        exc = exceptions.ValidationError({"non_field_errors": [str(exc)]})
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    status_code, code, message, details = _code_for(exc)
    response.status_code = status_code
    response.data = error_body(code, message, details)
    if status_code == 429 and details["retry_after"] is not None:
        response["Retry-After"] = str(details["retry_after"])
    return response
