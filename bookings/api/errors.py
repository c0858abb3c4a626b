"""One exception handler: every error of every API surface becomes `{"detail": "..."}`.

DRF calls `exception_handler` (REST_FRAMEWORK["EXCEPTION_HANDLER"]) for every API view, the Stripe
webhook included; `not_found` answers the paths under the API prefixes that no view serves, and
`ratelimited` the requests django-ratelimit turns away.
"""

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from organizations.errors import DomainError

REQUIRED_MESSAGES = {"This field is required.", "This field may not be null.", "This field may not be blank."}


def first_validation_message(errors: Any, path: str = "") -> str:
    """Flatten DRF's nested error structure to one sentence naming the field, e.g.
    `contact.email is required` or `starts_at: Datetime has wrong format...`."""
    if isinstance(errors, dict):
        for field, value in errors.items():
            name = path if field in ("non_field_errors", "__all__") else (f"{path}.{field}" if path else str(field))
            return first_validation_message(value, name)
        return "Invalid request"
    if isinstance(errors, list):
        for index, value in enumerate(errors):
            if isinstance(value, dict | list):
                return first_validation_message(value, f"{path}[{index}]" if path else str(index))
            return first_validation_message(value, path)
        return "Invalid request"
    message = str(errors)
    if not path:
        return message
    if message in REQUIRED_MESSAGES:
        return f"{path} is required" if "blank" not in message else f"{path} may not be blank"
    return f"{path}: {message}"


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    response: Response | None
    if isinstance(exc, DomainError):
        response = Response({"detail": exc.detail, **exc.extra}, status=exc.status_code)
        if exc.retry_after is not None:
            response["Retry-After"] = str(exc.retry_after)
        return response
    if isinstance(exc, exceptions.ValidationError):
        return Response({"detail": first_validation_message(exc.detail)}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) if str(exc) else "Not found")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(response.data, dict) and "detail" in response.data:
        response.data = {"detail": str(response.data["detail"])}
    if response is not None and isinstance(exc, exceptions.Throttled):
        wait = exc.wait  # type: ignore[attr-defined]  # set by DRF; missing from djangorestframework-stubs 3.18
        if wait:
            response["Retry-After"] = str(int(wait) + 1)
    return response


def ratelimited(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    """django-ratelimit's view for a request over its limit (RATELIMIT_VIEW)."""
    response = JsonResponse({"detail": "Rate limit exceeded"}, status=429)
    response["Retry-After"] = "60"
    return response


@csrf_exempt
def not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """Any path under /api/ or /bookings/ that no view serves: JSON, never an HTML page, DEBUG or not.

    CSRF-exempt as every API view is: else a POST to an unknown path got CsrfViewMiddleware's 403 page."""
    return JsonResponse({"detail": "Not found."}, status=404)
