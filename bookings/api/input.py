"""Request-body serializers whose fields are built once per class, not once per request.

Why: DRF deep-copies every declared field for each serializer instance, so that an instance may
change its own fields. A body read on every create never does, and the copying was two thirds of
validating the public create's body. Its fields keep nothing of a request (DRF passes each value
through them; `validate_<field>` runs on the serializer itself), so one set, bound to a blank
instance of the class, serves every request and thread.

Only for serializers that validate input, with no `instance`, no `partial` and no field reading
the serializer's context (these look at the root serializer, which here is the blank instance).
"""

from typing import Any

from rest_framework import serializers
from rest_framework.utils.serializer_helpers import BindingDict

_SHARED_FIELDS = "_shared_fields"


class InputSerializer(serializers.Serializer):
    """A `Serializer` whose bound fields are shared by all its instances (see the module)."""

    @property
    def fields(self) -> BindingDict:
        cls = type(self)
        shared = cls.__dict__.get(_SHARED_FIELDS)
        if shared is None:
            blank: Any = cls.__new__(cls)
            serializers.Serializer.__init__(blank)
            shared = serializers.Serializer.fields.func(blank)  # type: ignore[attr-defined]
            setattr(cls, _SHARED_FIELDS, shared)  # two first requests at once: either set will do
        return shared
