"""Limit/offset pagination with bounds, so no query string can ask the database for an impossible slice."""

from rest_framework.pagination import LimitOffsetPagination

from bookings.api.fields import MAX_INT


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    """`?limit=` is capped at 200 rows and `?offset=` at what every database's OFFSET accepts."""

    max_limit = 200

    def get_offset(self, request) -> int:
        return min(super().get_offset(request), MAX_INT)
