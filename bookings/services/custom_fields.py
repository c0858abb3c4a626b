"""A service's questions (`Service.custom_fields`) and the answers a booking gives them.

A domain rule, not a serializer's: every surface that books (the holds API today, the customer
pages and the admin tomorrow) checks the answers the same way.
"""

from typing import Any, TypedDict

from organizations.errors import InvalidInput
from organizations.models import Service

NOTE_MAX = 1000
FIELD_TYPES = {
    "string": (str,),
    "number": (int, float),
    "boolean": (bool,),
}
# What an answer may be (its field's type checked): text, a number, a flag, or none given.
CustomFieldAnswer = str | int | float | bool | None


class CustomFieldValue(TypedDict):
    """One answer in the contract's array form, as stored on the booking."""

    key: str
    value: CustomFieldAnswer


def custom_field_values_clean(service: Service, values: object) -> list[CustomFieldValue]:
    """Check answers against the service's questions: known keys, right types, required ones present.

    Accepts `[{"key": ..., "value": ...}]` (the contract's array) or `{"key": value}`; returns the list form.
    """
    if values in (None, "", []):
        values = []
    if isinstance(values, dict):
        values = [{"key": k, "value": v} for k, v in values.items()]
    if not isinstance(values, list):
        raise InvalidInput("custom_field_values: must be an array of {key, value}")
    # Keyed as the merchant wrote them (JSON: normally strings).
    definitions: dict[Any, dict[str, Any]] = {
        f.get("key"): f for f in (service.custom_fields or []) if isinstance(f, dict)
    }
    cleaned: dict[str, CustomFieldAnswer] = {}
    for index, item in enumerate(values):
        if not isinstance(item, dict) or "key" not in item:
            raise InvalidInput(f"custom_field_values[{index}]: must be an object with key and value")
        key, value = str(item["key"]), item.get("value")
        definition = definitions.get(key)
        if definition is None:
            raise InvalidInput(f"custom_field_values: unknown field '{key}'")
        if key in cleaned:
            raise InvalidInput(f"custom_field_values: '{key}' is given twice")
        kind = definition.get("type", "string")
        types = FIELD_TYPES.get(kind, (str,))
        if value is not None and (not isinstance(value, types) or (kind == "number" and isinstance(value, bool))):
            raise InvalidInput(f"custom_field_values.{key}: must be a {kind}")
        if isinstance(value, str) and len(value) > NOTE_MAX:
            raise InvalidInput(f"custom_field_values.{key}: at most {NOTE_MAX} characters")
        cleaned[key] = value
    for key, definition in definitions.items():
        if definition.get("required") and cleaned.get(key) in (None, ""):
            raise InvalidInput(f"custom_field_values.{key} is required")
    return [{"key": key, "value": value} for key, value in cleaned.items()]
