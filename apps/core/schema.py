"""OpenAPI helpers: the one error shape of API.md, for `extend_schema(responses=...)`.

    @extend_schema(request=Input, responses={201: Output, **error_responses(400, 401)})
"""

import re

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class AutoSchema(SpectacularAutoSchema):
    """Names a nested serializer after its outer class (`SignupApi.Input` → `SignupApiInput`).

    Every view nests `Input`/`Output` serializers; without this they would all be one "Input"
    component in the OpenAPI schema.
    """

    def get_serializer_name(self, serializer, direction):
        return re.sub(r"\W", "", serializer.__class__.__qualname__.replace("<locals>", ""))

    def _get_response_bodies(self, direction="response"):
        """Every operation that takes a body may answer 413 (apps.core.exceptions.RequestBodyTooLarge)."""
        responses = super()._get_response_bodies(direction)
        if self.method in ("POST", "PUT", "PATCH") and "413" not in responses:
            responses["413"] = self._get_response_for_code(error_response(413), "413", direction=direction)
        return responses

    def _get_request_for_media_type(self, serializer, direction="request"):
        """A view with `patch_is_partial = False` validates a PATCH body whole: document its required fields.

        drf-spectacular otherwise documents every PATCH body as partial (all fields optional).
        """
        if self.method != "PATCH" or getattr(self.view, "patch_is_partial", True):
            return super()._get_request_for_media_type(serializer, direction)
        self.method = "PUT"
        try:
            return super()._get_request_for_media_type(serializer, direction)
        finally:
            self.method = "PATCH"


class ErrorBody(serializers.Serializer):
    code = serializers.CharField(help_text="Stable machine-readable code, e.g. OUT_OF_STOCK.")
    message = serializers.CharField(help_text="A sentence for people.")
    details = serializers.DictField(help_text="Structured details; for VALIDATION_ERROR: field → list of messages.")


class ErrorResponse(serializers.Serializer):
    error = ErrorBody()


_DESCRIPTIONS = {
    400: "VALIDATION_ERROR: a field is missing or not valid (details: field → messages).",
    401: "NOT_AUTHENTICATED or INVALID_CREDENTIALS.",
    403: "PERMISSION_DENIED.",
    404: "NOT_FOUND.",
    405: "METHOD_NOT_ALLOWED.",
    409: "A conflict with the current state (OUT_OF_STOCK, INSUFFICIENT_BALANCE, ...).",
    422: "The request is understood but cannot be applied (COUPON_NOT_APPLICABLE, ...).",
    413: "VALIDATION_ERROR: the request body is larger than the server accepts (details: body).",
    429: "THROTTLED: too many requests; see the Retry-After header.",
}


def error_response(status: int, description: str | None = None) -> OpenApiResponse:
    return OpenApiResponse(response=ErrorResponse, description=description or _DESCRIPTIONS.get(status, "Error."))


def error_responses(*statuses: int, **descriptions: str) -> dict[int, OpenApiResponse]:
    """{status: OpenApiResponse(ErrorResponse)}; override a description with e.g. `s409="OUT_OF_STOCK: ..."`."""
    return {status: error_response(status, descriptions.get(f"s{status}")) for status in statuses}
