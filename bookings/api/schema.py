"""OpenAPI description shared by the API surfaces: the key auth schemes and the error responses.

Importing this module registers the authentication extension with drf-spectacular.
"""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse, extend_schema_serializer
from rest_framework import serializers


class ApiKeyScheme(OpenApiAuthenticationExtension):
    """organizations.auth.ApiKeyAuthentication accepts the key in either of two headers."""

    target_class = "organizations.auth.ApiKeyAuthentication"
    name = ["bearerAuth", "kordlessKey"]

    def get_security_requirement(self, auto_schema):
        # Either header will do: two alternative requirements, not one requiring both.
        return [{"bearerAuth": []}, {"kordlessKey": []}]

    def get_security_definition(self, auto_schema):
        return [
            {"type": "http", "scheme": "bearer", "description": "An API key: `Authorization: Bearer cal_...`."},
            {"type": "apiKey", "in": "header", "name": "x-kordless-key", "description": "An API key."},
        ]


@extend_schema_serializer(component_name="ErrorDetail")
class ErrorSerializer(serializers.Serializer):
    """Every error of every surface: one sentence naming the field and the reason."""

    detail = serializers.CharField()


ERROR_DESCRIPTIONS = {
    "400": "Invalid input; `detail` names the field and the reason.",
    "401": "Missing, unknown, expired or revoked key.",
    "403": "This kind of key may not do this.",
    "404": "Not found, or belongs to another organization.",
    "409": "Conflict with the current state (slot taken, object in use).",
    "422": "Valid input that the business rules refuse.",
    "429": "Rate limit exceeded; see `Retry-After`.",
    "502": "The payment provider could not be reached; nothing was changed, try again.",
}


def error_responses(*codes: int | str) -> dict[str, OpenApiResponse]:
    """`responses=` entries for extend_schema, each a `{"detail": ...}` body."""
    return {str(code): OpenApiResponse(ErrorSerializer, description=ERROR_DESCRIPTIONS[str(code)]) for code in codes}


class ErrorAwareAutoSchema(AutoSchema):
    """Documents the error answers every authenticated operation can give, besides its own.

    401/403 whenever the view needs a key, 404 when the path names an object, 400 and 422 for
    bodies, and whatever a view lists in `error_codes` (e.g. 409).
    """

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        codes = {"400"}  # query parameters are validated on every operation
        if self.view.get_permissions():
            codes |= {"401", "403"}
        if "{" in self.path:
            codes.add("404")
        if self.method in ("POST", "PUT", "PATCH"):
            codes.add("422")
        codes |= {str(code) for code in getattr(self.view, "error_codes", ())}
        for code in sorted(codes):
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    OpenApiResponse(ErrorSerializer, description=ERROR_DESCRIPTIONS[code]), code, direction=direction
                )
        return responses
