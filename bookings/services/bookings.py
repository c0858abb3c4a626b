"""Create and move bookings. Every path locks the slot's resources and re-checks it first."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from django.db import IntegrityError, transaction
from django.db.models import Model, Sum
from django.utils import timezone as djtz

from bookings.models import ACTIVE_STATUSES, Booking, BookingStatus, Participant, RecurringSeries, WebhookEvent
from bookings.notifications import booking_rescheduled_queue, participant_left_queue
from bookings.payments.checkout import DepositCheckout
from bookings.services.actors import Actor
from bookings.services.audit import audit_record, audit_row
from bookings.services.custom_fields import CustomFieldValue
from bookings.services.quorum import session_confirm_on_quorum
from bookings.services.reservation import Reservation, SlotLocks, row_insert_with, slot_reserve
from bookings.webhooks import booking_event_data, webhook_deliveries_queue, webhook_emit, webhook_event_row
from holds.models import Hold
from organizations.errors import Conflict, NotFound, Unprocessable
from organizations.models import Customer, Location, Service, StaffMember, Team

RESCHEDULE_FIELDS = ["starts_at", "ends_at", "blocked_start", "blocked_end", "staff", "sequence", "updated_at"]


@dataclass(frozen=True)
class Contact:
    """Whom to reach about a booking, as given when booking (the customer row may change later)."""

    name: str = ""
    email: str = ""
    phone: str = ""


@dataclass(frozen=True)
class BookingDraft:
    """Everything a new booking row is made of besides its slot, which a reservation holds."""

    service: Service
    location: Location
    customer: Customer
    actor: Actor
    status: str = BookingStatus.CONFIRMED
    party_size: int = 1
    team: Team | None = None
    source: str = ""
    timezone: str | None = None  # the zone the booker reads times in; default the location's
    contact: Contact | None = None  # default the customer's own details
    notes: str = ""
    customer_note: str = ""
    merchant_note: str = ""
    custom_field_values: list[CustomFieldValue] = field(default_factory=list)
    series: RecurringSeries | None = None
    hold: Hold | None = None  # the hold an appointment was made from
    checkout: DepositCheckout | None = None  # the deposit's Checkout Session, opened before the booking
    riders: Callable[[Booking], list[Model]] | None = None  # the caller's new rows written with it

    def contact_fields(self) -> dict[str, str]:
        contact = self.contact or Contact()
        return {
            "contact_name": contact.name or self.customer.full_name,
            "contact_email": contact.email or self.customer.email,
            "contact_phone": contact.phone or self.customer.phone,
        }


def participant_event_data(participant: Participant) -> dict[str, Any]:
    """The `data` of every participant.* event."""
    return {
        "participant_id": str(participant.uuid),
        "customer_id": str(participant.customer.uuid),
        "party_size": participant.party_size,
        "status": participant.status,
        "booking": booking_event_data(participant.booking),
    }


def _session_seats_sync(session: Booking) -> None:
    """A group session's party_size is the seats its active participants take."""
    seats = session.participants.filter(status=Participant.Status.ACTIVE).aggregate(n=Sum("party_size"))["n"] or 0
    session.party_size = max(seats, 1)
    session.save(update_fields=["party_size", "updated_at"])


def _place(reservation: Reservation, draft: BookingDraft, *, emails_booker: bool = False) -> Booking:
    """Insert the booking (or join the group session) for a slot already reserved under lock."""
    service, location, customer = draft.service, draft.location, draft.customer
    if not service.is_group:
        return _booking_insert(reservation, draft)
    slot = reservation.slot
    session = (
        Booking.objects.select_for_update()
        .filter(service=service, location=location, starts_at=slot.starts_at, is_group=True, status__in=ACTIVE_STATUSES)
        .first()
    )
    if session is None:
        session = _booking_insert(reservation, draft, is_group=True)
    elif session.participants.filter(customer=customer, status=Participant.Status.ACTIVE).exists():
        raise Conflict("This customer has already joined this session")
    participant = Participant.objects.create(
        booking=session, customer=customer, party_size=draft.party_size, note=draft.customer_note
    )
    _session_seats_sync(session)
    audit_record(booking=session, action="participant_joined", actor=draft.actor, to_value=str(customer.uuid))
    webhook_emit(
        organization=location.organization, event_type="participant.joined", data=participant_event_data(participant)
    )
    # Whichever surface the joiner came through, a session waiting for its minimum goes ahead now.
    return session_confirm_on_quorum(session=session, actor=draft.actor, joined=customer if emails_booker else None)


def _booking_insert(reservation: Reservation, draft: BookingDraft, *, is_group: bool = False) -> Booking:
    slot, service, location = reservation.slot, draft.service, draft.location
    deposit = service.deposit_minor
    identity: dict[str, Any] = {}
    if draft.checkout is not None:
        checkout = draft.checkout
        identity = {
            "uuid": checkout.booking_uuid,
            "public_id": checkout.booking_public_id,
            "stripe_checkout_session_id": checkout.session_id,
            "payment_redirect_url": checkout.url,
        }
        deposit = checkout.amount_minor
    # The staff row already read, when there is one: the event shows its uuid without a query.
    staff = {"staff": reservation.staff} if reservation.staff is not None else {"staff_id": reservation.staff_id}

    def created_rows(booking: Booking) -> list[Model]:
        """Its audit row, its webhook event and the caller's rows, inserted with it (one statement on
        PostgreSQL)."""
        return [
            audit_row(booking=booking, action="created", actor=draft.actor, to_value=draft.status),
            webhook_event_row(
                organization=location.organization, event_type="booking.created", data=booking_event_data(booking)
            ),
            *(draft.riders(booking) if draft.riders is not None and not is_group else []),
        ]

    booking, (_audit, event, *_rest) = row_insert_with(
        Booking,
        created_rows,
        organization=location.organization,
        service=service,
        location=location,
        **staff,
        team=draft.team,
        customer=draft.customer,
        status=draft.status,
        starts_at=slot.starts_at,
        ends_at=slot.ends_at,
        blocked_start=slot.starts_at - timedelta(minutes=service.buffer_before_minutes),
        blocked_end=slot.ends_at + timedelta(minutes=service.buffer_after_minutes),
        timezone=draft.timezone or location.tz.key,
        party_size=draft.party_size,
        source=draft.source,
        created_by_key=draft.actor.key,
        deposit_minor=deposit,
        payment_status=Booking.PaymentStatus.REQUIRED if deposit else Booking.PaymentStatus.NONE,
        notes=draft.notes,
        customer_note=draft.customer_note,
        merchant_note=draft.merchant_note,
        custom_field_values=draft.custom_field_values,
        series=draft.series,
        hold=None if is_group else draft.hold,
        is_group=is_group,
        **draft.contact_fields(),
        **identity,
    )
    webhook_deliveries_queue(cast(WebhookEvent, event))
    return booking


def booking_create(
    *,
    service: Service,
    location: Location,
    starts_at: datetime,
    customer: Customer,
    actor: Actor,
    staff: StaffMember | None = None,
    team: Team | None = None,
    party_size: int = 1,
    status: str = BookingStatus.CONFIRMED,
    source: str = "",
    timezone: str | None = None,
    contact: Contact | None = None,
    notes: str = "",
    customer_note: str = "",
    merchant_note: str = "",
    custom_field_values: list[CustomFieldValue] | None = None,
    series: RecurringSeries | None = None,
    checkout: DepositCheckout | None = None,
    now: datetime | None = None,
    locks: SlotLocks | None = None,
    emails_booker: bool = False,
    savepoint: bool = True,
    riders: Callable[[Booking], list[Model]] | None = None,
) -> Booking:
    """Book the slot at `starts_at` (422 if it is not a slot, 409 if it is taken).

    A group service joins the session at that slot (opening it if needed) and returns it.
    Safe inside an outer transaction (a recurring series books all occurrences in one); `locks`:
    taken already by such a caller, covering this slot (bookings.services.reservation).
    `checkout`: the deposit's Checkout Session, opened before (no network call under the locks).
    `emails_booker`: the caller sends the booker their own confirmation (the public API), so a
    class this booking confirms leaves them out of its notice to participants.
    `savepoint=False`: a caller whose whole transaction ends with any error saves the savepoint's
    two round trips; a refusal then spoils that transaction, which must not go on after it.
    `riders(booking)`: new rows of the caller's, written with an appointment's own INSERT (its
    confirmation email); not called for a group session.
    """
    draft = BookingDraft(
        service=service,
        location=location,
        customer=customer,
        actor=actor,
        status=status,
        party_size=party_size,
        team=team,
        source=source,
        timezone=timezone,
        contact=contact,
        notes=notes,
        customer_note=customer_note,
        merchant_note=merchant_note,
        custom_field_values=custom_field_values if custom_field_values is not None else [],
        series=series,
        checkout=checkout,
        riders=riders,
    )
    now = now or djtz.now()
    with transaction.atomic(savepoint=savepoint):
        reservation = slot_reserve(
            service=service,
            location=location,
            starts_at=starts_at,
            staff=staff,
            team=team,
            party_size=party_size,
            now=now,
            locks=locks,
        )
        return _place(reservation, draft, emails_booker=emails_booker)


def booking_create_from_hold(
    *,
    hold: Hold,
    customer: Customer,
    actor: Actor,
    status: str = BookingStatus.CONFIRMED,
    source: str = "",
    contact: Contact | None = None,
    notes: str = "",
    custom_field_values: list[CustomFieldValue] | None = None,
    checkout: DepositCheckout | None = None,
    timezone: str | None = None,
    now: datetime | None = None,
    emails_booker: bool = False,
) -> Booking:
    """Turn an active hold into a booking in one transaction: the slot passes with no gap.

    Expired, released or unknown hold: 404. Already converted: 409. `timezone`: the zone the booker
    reads times in (default the location's). `emails_booker`: as for `booking_create`.
    """
    now = now or djtz.now()
    with transaction.atomic():
        try:
            hold = (
                Hold.objects.select_for_update(of=("self",))
                .select_related("service", "location__organization", "staff")
                .get(pk=hold.pk)
            )
        except Hold.DoesNotExist as exc:
            raise NotFound("Hold not found") from exc
        if hold.status == Hold.Status.CONVERTED:
            raise Conflict("Hold has already been converted")
        if hold.status != Hold.Status.ACTIVE or hold.expires_at <= now:
            raise NotFound("Hold not found or expired")
        reservation = slot_reserve(
            service=hold.service,
            location=hold.location,
            starts_at=hold.starts_at,
            staff=hold.staff,
            party_size=hold.party_size,
            now=now,
            ignore_hold=hold,
            enforce_policy=False,  # the hold was within policy when placed; it keeps its slot
        )
        draft = BookingDraft(
            service=hold.service,
            location=hold.location,
            customer=customer,
            actor=actor,
            status=status,
            party_size=hold.party_size,
            source=source,
            contact=contact,
            notes=notes,
            custom_field_values=custom_field_values if custom_field_values is not None else [],
            hold=hold,
            checkout=checkout,
            timezone=timezone,
        )
        booking = _place(reservation, draft, emails_booker=emails_booker)
        hold.status = Hold.Status.CONVERTED
        hold.save(update_fields=["status"])
        return booking


def booking_reschedule(
    *,
    booking: Booking,
    starts_at: datetime,
    actor: Actor,
    staff: StaffMember | None = None,
    now: datetime | None = None,
) -> Booking:
    """Move a booking to another slot of its service (same location); SEQUENCE grows for calendar clients.

    The contact is emailed the new time and the old, with the updated invite (bookings.notifications).
    """
    now = now or djtz.now()
    with transaction.atomic():
        booking = (
            Booking.objects.select_for_update(of=("self",))
            .select_related("service", "location__organization", "staff")
            .get(pk=booking.pk)
        )
        if booking.status not in ACTIVE_STATUSES:
            raise Unprocessable(f"A {booking.status} booking cannot be rescheduled")
        if booking.is_group:
            raise Unprocessable("A group session cannot be moved; cancel it and open another")
        reservation = slot_reserve(
            service=booking.service,
            location=booking.location,
            starts_at=starts_at,
            staff=staff or booking.staff,
            party_size=booking.party_size,
            now=now,
            ignore_booking=booking,
        )
        slot = reservation.slot
        previous_starts_at, previous_ends_at = booking.starts_at, booking.ends_at
        before: dict[str, str | int] = {
            "starts_at": booking.starts_at.isoformat(),
            "ends_at": booking.ends_at.isoformat(),
        }
        if booking.staff_id:
            before["staff_id"] = booking.staff_id
        service = booking.service
        booking.starts_at, booking.ends_at = slot.starts_at, slot.ends_at
        booking.blocked_start = slot.starts_at - timedelta(minutes=service.buffer_before_minutes)
        booking.blocked_end = slot.ends_at + timedelta(minutes=service.buffer_after_minutes)
        booking.staff_id = reservation.staff_id
        booking.sequence += 1
        try:
            with transaction.atomic():
                booking.save(update_fields=RESCHEDULE_FIELDS)
        except IntegrityError as exc:  # PostgreSQL's exclusion constraint: someone else has it
            raise Conflict() from exc
        after: dict[str, str | int] = {
            "starts_at": booking.starts_at.isoformat(),
            "ends_at": booking.ends_at.isoformat(),
        }
        if booking.staff_id:
            after["staff_id"] = booking.staff_id
        audit_record(booking=booking, action="rescheduled", actor=actor, from_value=before, to_value=after)
        webhook_emit(
            organization=booking.organization, event_type="booking.rescheduled", data=booking_event_data(booking)
        )
        booking_rescheduled_queue(booking, previous_starts_at=previous_starts_at, previous_ends_at=previous_ends_at)
        return booking


def booker_place(booking: Booking, customer: Customer) -> Participant | None:
    """The customer's own place in a group session (None for an appointment): what their
    confirmation is about."""
    if not booking.is_group:
        return None
    participant = Participant.objects.get(booking=booking, customer=customer, status=Participant.Status.ACTIVE)
    participant.customer = customer
    return participant


def participant_join(
    *,
    booking: Booking,
    customer: Customer,
    actor: Actor,
    party_size: int = 1,
    note: str = "",
    now: datetime | None = None,
) -> Participant:
    """Add a customer to a group session (422 if not a group booking, 409 if already in or full)."""
    if not booking.is_group:
        raise Unprocessable("Only group bookings (classes and events) take participants")
    if booking.status not in ACTIVE_STATUSES:
        raise Conflict(f"This session is {booking.status}")
    booking_create(
        service=booking.service,
        location=booking.location,
        starts_at=booking.starts_at,
        customer=customer,
        actor=actor,
        party_size=party_size,
        customer_note=note,
        now=now,
    )
    return booking.participants.get(customer=customer, status=Participant.Status.ACTIVE)


def participant_leave(*, participant: Participant, actor: Actor, now: datetime | None = None) -> Participant:
    """Take a participant out of a group session; the seats are free again. Leaving twice is a no-op.

    The participant (only them) is emailed that their place is cancelled, with their cancelled invite.
    """
    with transaction.atomic():
        participant = (
            Participant.objects.select_for_update().select_related("booking", "customer").get(pk=participant.pk)
        )
        if participant.status == Participant.Status.LEFT:
            return participant
        participant.status = Participant.Status.LEFT
        participant.left_at = now or djtz.now()
        participant.save(update_fields=["status", "left_at"])
        session = participant.booking
        _session_seats_sync(session)
        audit_record(booking=session, action="participant_left", actor=actor, from_value=str(participant.customer.uuid))
        webhook_emit(
            organization=session.organization, event_type="participant.left", data=participant_event_data(participant)
        )
        participant_left_queue(participant, now=participant.left_at)
        return participant
