"""Limit/offset pagination with bounds, so no query string can ask the database for an impossible slice."""

from rest_framework.pagination import LimitOffsetPagination

from bookings.api.fields import MAX_INT
from organizations.errors import InvalidInput


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    """`?limit=` is capped at 200 rows and `?offset=` at what every database's OFFSET accepts.

    Either one that is not an integer (`?offset=null`) is a 400, as the schema says, rather than
    quietly read as the first page."""

    max_limit = 200

    def paginate_queryset(self, queryset, request, view=None):
        for param in (self.limit_query_param, self.offset_query_param):
            value = request.query_params.get(param)
            if value is not None and not _is_integer(value):
                raise InvalidInput(f"{param} must be an integer")
        return super().paginate_queryset(queryset, request, view)

    def get_offset(self, request) -> int:
        return min(super().get_offset(request), MAX_INT)


def _is_integer(value: str) -> bool:
    text = value.strip()
    return text.removeprefix("-").isascii() and text.removeprefix("-").isdigit()
