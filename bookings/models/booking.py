"""Bookings, their participants, recurring series and the audit trail."""

import secrets
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from bookings.models.constraints import overlap_exclusion
from holds.models import Hold
from organizations.compiled import CompiledInsertMixin
from organizations.models import (
    ApiKey,
    Customer,
    Location,
    Organization,
    Service,
    StaffMember,
    Team,
    TimestampedModel,
    validate_timezone,
)
from organizations.querysets import NotifyingQuerySet

# Base32, 5 bits a character: 12 characters are 60 bits, drawn with `secrets` (guessing is hopeless,
# the issue asks for at least 50). Confirmation numbers are the upper-cased public id.
PUBLIC_ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
PUBLIC_ID_LENGTH = 12


def new_public_id() -> str:
    return "book_" + "".join(secrets.choice(PUBLIC_ID_ALPHABET) for _ in range(PUBLIC_ID_LENGTH))


class BookingStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    CONFIRMED = "confirmed", "Confirmed"
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"
    NO_SHOW = "no_show", "No-show"


# States that occupy the slot.
ACTIVE_STATUSES = (BookingStatus.PENDING, BookingStatus.CONFIRMED, BookingStatus.IN_PROGRESS)


class RecurringSeries(TimestampedModel):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="series")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="series")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="series")
    staff = models.ForeignKey(StaffMember, null=True, blank=True, on_delete=models.PROTECT, related_name="series")
    rrule = models.CharField(max_length=500, help_text="RFC 5545 RRULE, expanded in local time.")
    timezone = models.CharField(max_length=64, validators=[validate_timezone])
    dtstart_local = models.DateTimeField(help_text="First occurrence, as a naive local wall-clock time.")
    until = models.DateTimeField(null=True, blank=True)
    merchant_note = models.TextField(blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "recurring series"

    def __str__(self) -> str:
        return f"{self.service} {self.rrule}"


class Booking(CompiledInsertMixin, TimestampedModel):
    Status = BookingStatus

    class PaymentStatus(models.TextChoices):
        NONE = "none", "No payment due"
        REQUIRED = "required", "Deposit required"
        PAID = "paid", "Deposit paid"
        EXPIRED = "expired", "Checkout expired"
        REFUNDED = "refunded", "Deposit refunded"

    public_id = models.CharField(max_length=32, unique=True, default=new_public_id, editable=False)
    confirmation_number = models.CharField(max_length=32, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="bookings")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="bookings")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="bookings")
    staff = models.ForeignKey(StaffMember, null=True, blank=True, on_delete=models.PROTECT, related_name="bookings")
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="bookings")
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.PROTECT, related_name="bookings", help_text="Who booked."
    )
    is_group = models.BooleanField(default=False, help_text="A group session that participants join.")
    status = models.CharField(max_length=16, choices=BookingStatus.choices, default=BookingStatus.CONFIRMED)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    # The interval the booking keeps others out of: the slot widened by the service's buffers.
    blocked_start = models.DateTimeField()
    blocked_end = models.DateTimeField()
    timezone = models.CharField(max_length=64, validators=[validate_timezone])
    party_size = models.PositiveIntegerField(default=1)
    # Contact as given at booking time (the customer row may change later).
    contact_name = models.CharField(max_length=200, blank=True)
    contact_email = models.EmailField(blank=True)
    contact_phone = models.CharField(max_length=40, blank=True)
    notes = models.TextField(blank=True)
    customer_note = models.TextField(blank=True)
    merchant_note = models.TextField(blank=True)
    custom_field_values = models.JSONField(default=list, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancellation_reason = models.CharField(max_length=500, blank=True)
    series = models.ForeignKey(
        RecurringSeries, null=True, blank=True, on_delete=models.PROTECT, related_name="bookings"
    )
    hold = models.OneToOneField(Hold, null=True, blank=True, on_delete=models.SET_NULL, related_name="booking")
    created_by_key = models.ForeignKey(
        ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="bookings_created"
    )
    source = models.CharField(max_length=32, blank=True, help_text="The surface the booking came through.")
    sequence = models.PositiveIntegerField(default=0, help_text="iCalendar SEQUENCE; grows on each reschedule.")
    # Deposits.
    deposit_minor = models.PositiveIntegerField(default=0)
    payment_status = models.CharField(max_length=16, choices=PaymentStatus.choices, default=PaymentStatus.NONE)
    stripe_checkout_session_id = models.CharField(max_length=255, blank=True)
    payment_redirect_url = models.URLField(max_length=2000, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = NotifyingQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_at"]
        indexes = [
            models.Index(fields=["organization", "status", "blocked_start"], name="booking_org_status_start"),
            models.Index(fields=["staff", "blocked_start"], name="booking_staff_start"),
            models.Index(fields=["location", "blocked_start"], name="booking_location_start"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="booking_end_after_start"),
            models.CheckConstraint(
                condition=Q(blocked_start__lte=models.F("starts_at")) & Q(blocked_end__gte=models.F("ends_at")),
                name="booking_blocked_covers_slot",
            ),
            models.CheckConstraint(condition=Q(party_size__gte=1), name="booking_party_size_positive"),
            # Invariant 1, enforced by PostgreSQL itself.
            overlap_exclusion(
                name="booking_no_staff_overlap",
                resource="staff",
                condition=Q(status__in=ACTIVE_STATUSES, staff__isnull=False),
            ),
            overlap_exclusion(
                name="booking_no_location_overlap",
                resource="location",
                condition=Q(status__in=ACTIVE_STATUSES, staff__isnull=True, is_group=False),
            ),
            # One active group session per service, location and start; participants join it.
            models.UniqueConstraint(
                fields=["service", "location", "starts_at"],
                condition=Q(status__in=ACTIVE_STATUSES, is_group=True),
                name="booking_one_group_session_per_slot",
            ),
        ]

    def __str__(self) -> str:
        # In the zone the booking is read in (its location's, unless the booker named theirs), named:
        # this is what the admin's titles, history and choices show.
        zone = ZoneInfo(self.timezone or "UTC")
        return f"{self.confirmation_number} {self.service} {self.starts_at.astimezone(zone):%Y-%m-%d %H:%M} {zone.key}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self.confirmation_number:
            self.confirmation_number = self.public_id.upper()
        super().save(*args, **kwargs)

    def clean(self) -> None:
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": "The end must be after the start."})

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES


class ParticipantQuerySet(NotifyingQuerySet):
    organization_path = "booking__organization"


class Participant(CompiledInsertMixin, TimestampedModel):
    """A customer taking part in a group booking (class or event)."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        LEFT = "left", "Left"

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="participants")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="participations")
    party_size = models.PositiveIntegerField(default=1)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    note = models.TextField(blank=True)
    left_at = models.DateTimeField(null=True, blank=True)

    objects = ParticipantQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["booking", "customer"], condition=Q(status="active"), name="unique_active_participant"
            ),
            models.CheckConstraint(condition=Q(party_size__gte=1), name="participant_party_size_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.customer} in {self.booking}"


class BookingEvent(CompiledInsertMixin, models.Model):
    """Audit trail: every status or time change, who made it, from what, to what."""

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(max_length=64)
    actor = models.CharField(max_length=200, help_text="key:<prefix>, user:<username> or system.")
    actor_key = models.ForeignKey(ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    from_value = models.JSONField(null=True, blank=True)
    to_value = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.action} by {self.actor}"
