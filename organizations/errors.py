"""The one domain error type. Services raise these; one exception handler maps them to HTTP."""

from typing import Any


class DomainError(Exception):
    status_code = 400
    default_detail = "Invalid request"

    def __init__(
        self, detail: str | None = None, *, retry_after: int | None = None, extra: dict[str, Any] | None = None
    ) -> None:
        self.detail = detail or self.default_detail
        self.retry_after = retry_after
        self.extra = extra or {}
        super().__init__(self.detail)


class InvalidInput(DomainError):
    status_code = 400


class NotAuthenticated(DomainError):
    status_code = 401
    default_detail = "Authentication required"


class Forbidden(DomainError):
    status_code = 403
    default_detail = "This key may not do that"


class NotFound(DomainError):
    status_code = 404
    default_detail = "Not found"


class Conflict(DomainError):
    status_code = 409
    default_detail = "Time slot is no longer available"


class Unprocessable(DomainError):
    status_code = 422
    default_detail = "Business validation failed"


class RateLimited(DomainError):
    status_code = 429
    default_detail = "Rate limit exceeded"
