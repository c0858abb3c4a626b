"""Query-string filters that mean what they say: a parameter that is sent filters, or is a 400.

django-filter reads `?staff=`, `?starts_at_before=` or `?active=null` as "no filter" and answers
everything; the schema calls those values invalid, and a client who sent one meant something by it.
A text filter (CharFilter) may be empty: the schema allows an empty string, and it filters nothing.
"""

from typing import Any

import django_filters
from django_filters.rest_framework import DjangoFilterBackend
from django_filters.widgets import SuffixedMultiWidget

BOOLEANS = ("true", "false")


class StrictFilterSet(django_filters.FilterSet):
    def is_valid(self) -> bool:
        valid = super().is_valid()
        data = self.data or {}
        for name, filter_ in self.filters.items():
            if isinstance(filter_, django_filters.CharFilter) or name not in self.form.fields:
                continue
            for param in _parameters(name, self.form.fields[name].widget):
                raw = data.get(param)
                if raw is None:
                    continue
                if not str(raw).strip():
                    self.form.add_error(None, f"{param} may not be empty")
                elif isinstance(filter_, django_filters.BooleanFilter) and str(raw).lower() not in BOOLEANS:
                    # Django's NullBooleanSelect reads anything else as "unknown" (no filter), and its
                    # legacy "2" and "3" as true and false.
                    self.form.add_error(None, f"{param} must be true or false")
        return valid and not self.form.errors


def _parameters(name: str, widget: Any) -> list[str]:
    """The query parameters one filter reads (a range reads `<name>_after` and `<name>_before`)."""
    if isinstance(widget, SuffixedMultiWidget):
        return [widget.suffixed(name, suffix) for suffix in widget.suffixes]
    return [name]


class StrictFilterBackend(DjangoFilterBackend):
    """The filter backend of every API view; views with `filterset_fields` get a StrictFilterSet too."""

    filterset_base = StrictFilterSet
