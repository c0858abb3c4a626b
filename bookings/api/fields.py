"""Input fields every API surface shares: one aware date-time, strict integers, the database's bounds."""

from datetime import UTC, datetime

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from organizations.errors import InvalidInput

# The smallest signed 32-bit maximum: every integer column fits it on every database.
MAX_INT = 2**31 - 1
# Far enough for any booking; keeps date arithmetic (buffers, windows, notice) clear of datetime's limits.
YEAR_RANGE = (1970, 9000)
OFFSET_REQUIRED = "a UTC offset is required (e.g. 2025-12-03T14:00:00Z)"


def parse_aware_datetime(value: object, field: str) -> datetime:
    """ISO 8601 with an offset (`Z` or `+hh:mm`) within YEAR_RANGE; anything else is a 400 naming the field."""
    if value is None or str(value).strip() == "":
        raise InvalidInput(f"{field} is required")
    text = str(value).strip()
    if "\x00" in text:
        raise InvalidInput(f"{field}: null characters are not allowed")
    # An unencoded `+` in a query string arrives as a space: `...T14:00:00 00:00`.
    if len(text) > 19 and text[19] == " ":
        text = text[:19] + "+" + text[20:]
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InvalidInput(f"{field}: not an ISO 8601 date-time") from exc
    if parsed.tzinfo is None:
        raise InvalidInput(f"{field}: {OFFSET_REQUIRED}")
    try:
        in_range = YEAR_RANGE[0] <= parsed.astimezone(UTC).year <= YEAR_RANGE[1]
    except OverflowError:  # 9999-12-31T23:59:59-01:00 is past datetime's end in UTC
        in_range = False
    if not in_range:
        raise InvalidInput(f"{field}: must be between the years {YEAR_RANGE[0]} and {YEAR_RANGE[1]}")
    return parsed


@extend_schema_field(OpenApiTypes.DATETIME)
class AwareDateTimeField(serializers.DateTimeField):
    """ISO 8601 with an offset; a naive time is refused rather than guessed (invariant 5), and so is
    a year outside YEAR_RANGE (whose arithmetic would overflow). The 400 names the field."""

    def to_internal_value(self, value: object) -> datetime:
        if isinstance(value, str) and not value.strip():
            self.fail("required")
        if not isinstance(value, str):
            raise serializers.ValidationError("not an ISO 8601 date-time")
        try:
            return parse_aware_datetime(value, str(self.field_name)).astimezone(UTC)
        except InvalidInput as exc:
            raise serializers.ValidationError(exc.detail.removeprefix(f"{self.field_name}: ")) from exc


@extend_schema_field(OpenApiTypes.INT)
class StrictIntegerField(serializers.IntegerField):
    """A JSON integer: not `"2"`, `2.5` or `true`, which DRF's IntegerField would take or turn into 1."""

    def to_internal_value(self, data: object) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


@extend_schema_field(OpenApiTypes.BOOL)
class StrictBooleanField(serializers.BooleanField):
    """A JSON `true` or `false`: not `0`, `"on"` or `"yes"`, which DRF's BooleanField would take."""

    def to_internal_value(self, data: object) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data
