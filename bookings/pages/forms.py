"""The customer pages' forms: Django forms, so every error renders next to its field."""

import re
from datetime import UTC, datetime

from django import forms
from django.utils.translation import gettext_lazy as _

from bookings.services.custom_fields import NOTE_MAX
from organizations.models import Service

# ASCII digits only, at least four of them: what a phone network dials.
PHONE_RE = re.compile(r"^\+?[0-9\s\-().]{4,40}$", re.ASCII)
NOTES_MAX = 1000
YEARS = (1970, 9000)  # as the API's dates: far enough, and clear of datetime's limits in slot arithmetic


class PageForm(forms.Form):
    """Labels without Django's trailing colon."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class SlotPickForm(forms.Form):
    """A slot button: the start (UTC, ISO 8601) with the filters the slot was shown under."""

    start = forms.CharField(max_length=64)
    location = forms.UUIDField()
    staff = forms.CharField(max_length=64, required=False)
    seats = forms.IntegerField(min_value=1, required=False)

    def clean_start(self) -> datetime:
        return parse_start(self.cleaned_data["start"])


def parse_start(value: str) -> datetime:
    """A slot button's value: an ISO 8601 instant with its offset, in a year the engine can work with."""
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        if parsed.tzinfo is None or not YEARS[0] <= parsed.astimezone(UTC).year <= YEARS[1]:
            raise ValueError(value)
    except (ValueError, OverflowError) as exc:
        raise forms.ValidationError(_("Pick one of the times shown.")) from exc
    return parsed.astimezone(UTC)


def _phone_ok(value: str) -> bool:
    return bool(PHONE_RE.match(value)) and sum(c in "0123456789" for c in value) >= 4


class ContactForm(PageForm):
    """Who books: name, email, an optional phone, notes, and the service's own questions."""

    name = forms.CharField(label=_("Name"), max_length=200)
    email = forms.EmailField(label=_("Email"), max_length=254)
    phone = forms.CharField(
        label=_("Phone (optional)"), max_length=40, required=False, help_text=_("For example +1 555 123 4567.")
    )
    notes = forms.CharField(
        label=_("Notes (optional)"), max_length=NOTES_MAX, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, service: Service, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["name"].widget.attrs.update({"autocomplete": "name"})
        self.fields["email"].widget.attrs.update({"autocomplete": "email"})
        self.fields["phone"].widget = forms.TextInput(attrs={"autocomplete": "tel", "type": "tel"})
        self.question_keys: list[str] = []
        for question in service.custom_fields or []:
            if not isinstance(question, dict) or not question.get("key"):
                continue
            key = str(question["key"])
            label = question.get("label") or key.replace("_", " ").capitalize()
            required = bool(question.get("required"))
            kind = question.get("type", "string")
            if kind == "number":
                field: forms.Field = forms.FloatField(label=label, required=required)
            elif kind == "boolean":
                field = forms.BooleanField(label=label, required=required)
            else:
                field = forms.CharField(label=label, required=required, max_length=NOTE_MAX)
            self.fields[f"q_{key}"] = field
            self.question_keys.append(key)

    def clean_name(self) -> str:
        return self.cleaned_data["name"].strip()

    def clean_phone(self) -> str:
        value = self.cleaned_data["phone"].strip()
        if value and not _phone_ok(value):
            raise forms.ValidationError(_("Enter a phone number with at least 4 digits, e.g. +1 555 123 4567."))
        return value

    @property
    def question_fields(self) -> list:
        return [self[f"q_{key}"] for key in self.question_keys]

    def answers(self) -> list[dict]:
        """The service's questions answered, as the booking services take them."""
        out = []
        for key in self.question_keys:
            value = self.cleaned_data.get(f"q_{key}")
            if value in (None, ""):
                continue
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            out.append({"key": key, "value": value})
        return out

    def split_name(self) -> tuple[str, str]:
        first, _sep, last = self.cleaned_data["name"].partition(" ")
        return first[:100], last.strip()[:100]


class LookupForm(PageForm):
    confirmation = forms.CharField(
        label=_("Confirmation number"),
        max_length=64,
        help_text=_("It is in your confirmation email, e.g. BOOK_ABC123XYZ."),
    )
    contact = forms.CharField(
        label=_("Email or phone"), max_length=254, help_text=_("The email address or phone number you booked with.")
    )

    def clean_confirmation(self) -> str:
        return self.cleaned_data["confirmation"].strip()

    def clean_contact(self) -> str:
        return self.cleaned_data["contact"].strip()


class ManageCredentialsForm(PageForm):
    """The hidden fields every manage action carries: what the signed manage link named."""

    confirmation = forms.CharField(max_length=64)
    contact = forms.CharField(max_length=254)
    token = forms.CharField(max_length=200)


class CancelForm(ManageCredentialsForm):
    reason = forms.CharField(
        label=_("Reason (optional)"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class RescheduleForm(ManageCredentialsForm):
    start = forms.CharField(max_length=64)

    def clean_start(self) -> datetime:
        return parse_start(self.cleaned_data["start"])
