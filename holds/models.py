"""A hold reserves a slot for a few minutes while a client fills in the booking form."""

from django.db import models
from django.db.models import Q

from organizations.compiled import CompiledInsertMixin
from organizations.models import ApiKey, Location, Organization, Service, StaffMember, TimestampedModel
from organizations.querysets import NotifyingQuerySet


class Hold(CompiledInsertMixin, TimestampedModel):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        CONVERTED = "converted", "Converted to a booking"
        EXPIRED = "expired", "Expired"
        RELEASED = "released", "Released"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="holds")
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="holds")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="holds")
    staff = models.ForeignKey(StaffMember, null=True, blank=True, on_delete=models.CASCADE, related_name="holds")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    # The interval the hold keeps others out of: the slot widened by the service's buffers.
    blocked_start = models.DateTimeField()
    blocked_end = models.DateTimeField()
    party_size = models.PositiveIntegerField(default=1)
    expires_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    api_key = models.ForeignKey(ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="holds")
    # When the key began holding this slot: a hold placed again on the same slot by the same key
    # (after releasing or letting the last one lapse) keeps the first one's, so that holding a slot
    # cannot be renewed past HOLD_MAX_LIFETIME_MINUTES.
    held_since = models.DateTimeField(null=True, blank=True)
    # The client address of a session token's hold: active holds are capped per address too.
    client_address = models.GenericIPAddressField(null=True, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)
    released_by = models.CharField(
        max_length=200, blank=True, help_text="Who gave the slot back: key:<prefix>, user:<username> or system."
    )

    objects = NotifyingQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["organization", "status", "blocked_start"], name="hold_org_status_start"),
            models.Index(fields=["status", "expires_at"], name="hold_status_expires"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="hold_end_after_start"),
            models.CheckConstraint(condition=Q(party_size__gte=1), name="hold_party_size_positive"),
        ]

    def __str__(self) -> str:
        return f"Hold {self.uuid} {self.starts_at:%Y-%m-%d %H:%M} ({self.status})"
