"""Tenants and their catalogue: who can be booked, where, for what, and when they work."""

import uuid
import zoneinfo
from functools import cache
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q

from organizations.querysets import NotifyingQuerySet, ThroughQuerySet, through_queryset_install


@cache
def _iana_timezones() -> frozenset[str]:
    # `localtime` is this host's own zone file, not an IANA name.
    return frozenset(zoneinfo.available_timezones() - {"localtime"})


def is_iana_timezone(name: str) -> bool:
    """True for a time zone name of this machine's IANA database.

    Checked against the database's list rather than by opening `ZoneInfo(name)`, which also
    reads any file below the zone directory ("zone.tab") and fails on a folder ("America").
    """
    return name in _iana_timezones()


def validate_timezone(value: str) -> None:
    """Refuse anything that is not an IANA time zone name this machine knows."""
    if value and not is_iana_timezone(value):
        raise ValidationError(f"'{value}' is not a valid IANA time zone.")


class TimestampedModel(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True


class OrganizationQuerySet(NotifyingQuerySet):
    organization_path = "pk"


class Organization(TimestampedModel):
    slug = models.SlugField(max_length=80, unique=True)
    name = models.CharField(max_length=200)
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    currency = models.CharField(max_length=3, default="USD")
    # Booking policy.
    min_notice_minutes = models.PositiveIntegerField(default=60, help_text="How long before a slot it can be booked.")
    max_advance_days = models.PositiveIntegerField(default=365, help_text="How far ahead a slot can be booked.")
    cancellation_cutoff_minutes = models.PositiveIntegerField(
        default=120, help_text="Customers may cancel or reschedule until this long before the start."
    )
    hold_minutes = models.PositiveIntegerField(default=10, validators=[MinValueValidator(1)])
    # Reminder emails (`manage.py send_reminders`, bookings/notifications/reminders.py).
    # db_default too: code that predates the field (a rolling deploy) can still insert organizations.
    reminder_lead_minutes = models.PositiveIntegerField(
        default=1440,
        db_default=1440,
        help_text="Email a reminder this long before each booking (1440: 24 hours; 0: none).",
    )
    second_reminder_lead_minutes = models.PositiveIntegerField(
        null=True, blank=True, help_text="Optionally a second reminder, e.g. 120 for 2 hours before."
    )

    objects = OrganizationQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)


class Membership(models.Model):
    """Which admin users work for which organization."""

    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        STAFF = "staff", "Staff"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.OWNER)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "organization"], name="unique_membership")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.organization}"


class Location(TimestampedModel):
    class Kind(models.TextChoices):
        ONSITE = "onsite", "On site"
        VIRTUAL = "virtual", "Virtual"
        PHONE = "phone", "Phone"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="locations")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.ONSITE)
    value = models.CharField(max_length=500, blank=True, help_text="Address, meeting link or phone number.")
    timezone = models.CharField(
        max_length=64, blank=True, validators=[validate_timezone], help_text="Blank: the organization's."
    )

    objects = NotifyingQuerySet.as_manager()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone or self.organization.timezone)


class StaffMember(TimestampedModel):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="staff")
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    active = models.BooleanField(default=True)

    objects = NotifyingQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        verbose_name = "staff member"

    def __str__(self) -> str:
        return self.name


class Team(TimestampedModel):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="teams")
    name = models.CharField(max_length=200)
    members = models.ManyToManyField(StaffMember, related_name="teams", blank=True)

    objects = NotifyingQuerySet.as_manager()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class Service(TimestampedModel):
    class Kind(models.TextChoices):
        APPOINTMENT = "appointment", "Appointment"
        GROUP = "group", "Group (event or class)"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="services")
    slug = models.SlugField(max_length=80)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.APPOINTMENT)
    duration_minutes = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    buffer_before_minutes = models.PositiveIntegerField(default=0)
    buffer_after_minutes = models.PositiveIntegerField(default=0)
    slot_interval_minutes = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1)], help_text="Blank: the duration."
    )
    capacity_min = models.PositiveIntegerField(default=1, validators=[MinValueValidator(1)])
    capacity_max = models.PositiveIntegerField(default=1, validators=[MinValueValidator(1)])
    max_party_size = models.PositiveIntegerField(
        default=4,
        validators=[MinValueValidator(1)],
        help_text="Places one customer may hold or book at once in a class (the capacity still bounds the class).",
    )
    price_minor = models.PositiveIntegerField(default=0, help_text="Price in minor units (cents).")
    deposit_minor = models.PositiveIntegerField(default=0, help_text="Deposit due at booking, in minor units.")
    active = models.BooleanField(default=True)
    locations = models.ManyToManyField(Location, related_name="services", blank=True)
    staff = models.ManyToManyField(StaffMember, related_name="services", blank=True)
    custom_fields = models.JSONField(
        default=list,
        blank=True,
        help_text='Questions asked at booking: [{"key": "allergies", "type": "string", "required": false}]. '
        "Types: string, number, boolean.",
    )

    objects = NotifyingQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "slug"], name="unique_service_slug_per_org"),
            models.CheckConstraint(
                condition=Q(capacity_min__lte=models.F("capacity_max")), name="capacity_min_lte_max"
            ),
            models.CheckConstraint(condition=Q(duration_minutes__gt=0), name="service_duration_positive"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.capacity_min and self.capacity_max and self.capacity_min > self.capacity_max:
            raise ValidationError({"capacity_min": "Minimum capacity cannot exceed maximum capacity."})
        if self.kind == self.Kind.APPOINTMENT and self.capacity_max != 1:
            raise ValidationError({"capacity_max": "An appointment takes exactly one booking at a time."})
        if self.deposit_minor and self.price_minor and self.deposit_minor > self.price_minor:
            raise ValidationError({"deposit_minor": "The deposit cannot exceed the price."})

    @property
    def is_group(self) -> bool:
        return self.kind == self.Kind.GROUP

    @property
    def interval_minutes(self) -> int:
        return self.slot_interval_minutes or self.duration_minutes


class ScheduleRule(models.Model):
    """Belongs to exactly one of a staff member or a location."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    staff = models.ForeignKey(StaffMember, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    location = models.ForeignKey(Location, null=True, blank=True, on_delete=models.CASCADE, related_name="+")

    class Meta:
        abstract = True

    def clean(self) -> None:
        if (self.staff_id is None) == (self.location_id is None):
            raise ValidationError("Set exactly one of staff member or location.")


class WorkingHours(ScheduleRule):
    """A weekly opening window, in the local time of the location (or organization)."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, "Monday"
        TUESDAY = 1, "Tuesday"
        WEDNESDAY = 2, "Wednesday"
        THURSDAY = 3, "Thursday"
        FRIDAY = 4, "Friday"
        SATURDAY = 5, "Saturday"
        SUNDAY = 6, "Sunday"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    start_time = models.TimeField()
    end_time = models.TimeField()

    objects = NotifyingQuerySet.as_manager()

    class Meta:
        ordering = ["weekday", "start_time"]
        verbose_name_plural = "working hours"
        constraints = [
            models.CheckConstraint(
                condition=Q(end_time__gt=models.F("start_time")), name="working_hours_end_after_start"
            ),
            models.CheckConstraint(
                condition=Q(staff__isnull=True, location__isnull=False) | Q(staff__isnull=False, location__isnull=True),
                name="working_hours_one_owner",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start_time:%H:%M}-{self.end_time:%H:%M}"

    def clean(self) -> None:
        super().clean()
        if self.start_time and self.end_time and self.end_time <= self.start_time:
            raise ValidationError({"end_time": "End time must be after start time."})


class TimeOff(ScheduleRule):
    """A blocked range (holiday, sick day, maintenance), stored in UTC."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)

    objects = NotifyingQuerySet.as_manager()

    class Meta:
        ordering = ["starts_at"]
        verbose_name_plural = "time off"
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="time_off_end_after_start"),
            models.CheckConstraint(
                condition=Q(staff__isnull=True, location__isnull=False) | Q(staff__isnull=False, location__isnull=True),
                name="time_off_one_owner",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.starts_at:%Y-%m-%d %H:%M} - {self.ends_at:%Y-%m-%d %H:%M}"

    def clean(self) -> None:
        super().clean()
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": "End must be after start."})


class DateOverride(ScheduleRule):
    """Replaces the weekly hours on one local date: closed (no times) or open at these times.

    Several rows on one date give split hours.
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    date = models.DateField()
    start_time = models.TimeField(null=True, blank=True)
    end_time = models.TimeField(null=True, blank=True)
    reason = models.CharField(max_length=200, blank=True)

    objects = NotifyingQuerySet.as_manager()

    class Meta:
        ordering = ["date", "start_time"]
        constraints = [
            models.CheckConstraint(
                condition=Q(start_time__isnull=True, end_time__isnull=True) | Q(end_time__gt=models.F("start_time")),
                name="date_override_closed_or_valid_hours",
            ),
            models.CheckConstraint(
                condition=Q(staff__isnull=True, location__isnull=False) | Q(staff__isnull=False, location__isnull=True),
                name="date_override_one_owner",
            ),
        ]

    def __str__(self) -> str:
        if self.start_time is None:
            return f"{self.date}: closed"
        return f"{self.date}: {self.start_time:%H:%M}-{self.end_time:%H:%M}"

    @property
    def is_closed(self) -> bool:
        return self.start_time is None

    def clean(self) -> None:
        super().clean()
        if (self.start_time is None) != (self.end_time is None):
            raise ValidationError("Give both start and end time, or neither for a closed day.")
        if self.start_time and self.end_time and self.end_time <= self.start_time:
            raise ValidationError({"end_time": "End time must be after start time."})


class Customer(TimestampedModel):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="customers")
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100, blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    notes = models.TextField(blank=True, help_text="The merchant's own notes; never shown to the customer.")

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "email"], condition=~Q(email=""), name="unique_customer_email_per_org"
            )
        ]

    def __str__(self) -> str:
        return self.full_name or self.email

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Emails are compared case-insensitively; storing them lower-cased keeps the unique
        # constraint meaningful on every database.
        self.email = (self.email or "").strip().lower()
        super().save(*args, **kwargs)

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class ApiKeyQuerySet(NotifyingQuerySet):
    organization_path = "organizations"


class ApiKey(TimestampedModel):
    """A credential. Only a SHA-256 hash of the secret is stored; the secret is shown once."""

    class Kind(models.TextChoices):
        BUSINESS = "business", "Business (one organization, everything)"
        HUB = "hub", "Hub (several organizations)"
        PUBLIC = "public", "Public (availability and booking)"
        SESSION = "session", "Session (hold, book, show)"
        CUSTOMER = "customer", "Customer (acts as one customer)"

    PREFIXES = {
        Kind.BUSINESS: "cal_biz_",
        Kind.HUB: "cal_hub_",
        Kind.PUBLIC: "cal_pub_",
        Kind.SESSION: "cal_ses_",
        Kind.CUSTOMER: "cal_cus_",
    }

    name = models.CharField(max_length=200, blank=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    prefix = models.CharField(max_length=24, help_text="The first characters of the secret, to recognise it.")
    secret_hash = models.CharField(max_length=64, unique=True)
    organizations = models.ManyToManyField(Organization, related_name="api_keys")
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.CASCADE, related_name="api_keys", help_text="Customer keys."
    )
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    issued_by = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="issued_keys",
        help_text="Session tokens: the public key that minted this one (POST /api/v1/sessions).",
    )
    # Its writes tell organizations.keys, which caches key rows (the ids are never read: one version
    # serves every key).
    objects = ApiKeyQuerySet.as_manager()
    # Not a field: the organizations the key may act for, cached on the instance by
    # organizations.keys.key_organization_ids (declared for the type checker only).
    _organization_ids: set[int]

    class Meta:
        ordering = ["-id"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.prefix}…"

    def clean(self) -> None:
        if self.kind == self.Kind.CUSTOMER and self.customer_id is None:
            raise ValidationError({"customer": "A customer key must name its customer."})


# The many-to-many tables of the catalogue: their rows send no model signals (see organizations/querysets.py).
class ServiceLinkQuerySet(ThroughQuerySet):
    organization_path = "service__organization"


class TeamMemberQuerySet(ThroughQuerySet):
    organization_path = "team__organization"


through_queryset_install(Service.locations.through, ServiceLinkQuerySet)
through_queryset_install(Service.staff.through, ServiceLinkQuerySet)
through_queryset_install(Team.members.through, TeamMemberQuerySet)
through_queryset_install(ApiKey.organizations.through, ThroughQuerySet)
