"""The resource API's OpenAPI names: its components end in "Resource"."""

from bookings.api.resources.fields import ResourceSerializer
from bookings.api.schema import ErrorAwareAutoSchema


class ResourceAutoSchema(ErrorAwareAutoSchema):
    def get_serializer_name(self, serializer, direction) -> str:
        # Resource components never collide with another surface's serializer of the same model
        # (the public API has its own `Location`, for one).
        name = super().get_serializer_name(serializer, direction)
        if isinstance(serializer, ResourceSerializer):
            return name.removesuffix("Serializer") + "Resource"
        return name
