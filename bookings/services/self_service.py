"""A customer's own cancel and reschedule, under the organization's policy (the manage page, the JSON API).

The policy has one cut-off, `Organization.cancellation_cutoff_minutes` (default 2 hours): until then a
customer may cancel or reschedule online for free, and a paid deposit is refunded in full through
Stripe Refunds when they cancel; from then on the booking can no longer be changed online (the
merchant still can) and a deposit is kept. A reschedule keeps the deposit with the booking.

In a class (one booking, many participants) a customer changes only their own place: cancelling
leaves the session, moving leaves it for another session of the same service, in one transaction.

The refund is a network call: it is asked for before the cancelling transaction, never under a
writer lock, and the booking is cancelled only once Stripe has agreed (if Stripe fails, nothing
changes and the customer can try again).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone as djtz

from bookings.availability import Slot, find_slots
from bookings.models import Booking, BookingStatus, Participant
from bookings.payments.refunds import DepositRefund, deposit_refund
from bookings.services.actors import Actor
from bookings.services.bookings import booking_create, booking_reschedule, participant_leave
from bookings.services.deposits import deposit_refunded_record
from bookings.services.lookup import BookingContact, LookedUp, contact_matches
from bookings.services.quorum import group_initial_status
from bookings.services.status import booking_cancel
from organizations.errors import Unprocessable

CUSTOMER = Actor(system="customer")
CHANGEABLE_STATUSES = (BookingStatus.PENDING, BookingStatus.CONFIRMED)
DEFAULT_REASON = "Cancelled by the customer"


def duration_words(minutes: int) -> str:
    """`120` -> "2 hours", `1440` -> "24 hours", `90` -> "90 minutes", `2880` -> "2 days"."""
    if minutes and minutes % 1440 == 0 and minutes >= 2880:
        return f"{minutes // 1440} days"
    if minutes and minutes % 60 == 0:
        hours = minutes // 60
        return "1 hour" if hours == 1 else f"{hours} hours"
    return "1 minute" if minutes == 1 else f"{minutes} minutes"


@dataclass(frozen=True)
class ManagedBooking:
    """A booking as one customer manages it: the contact that proved it, and in a class their own place."""

    booking: Booking
    contact: BookingContact  # name, email, phone of the customer (in a class, the participant's own)
    participant: Participant | None = None  # their place in a group session (active, else the latest left)

    @property
    def is_place(self) -> bool:
        return self.booking.is_group

    @property
    def status(self) -> str:
        """What the customer's booking is: a class place that was left reads as cancelled."""
        if self.is_place and self.participant is not None and self.participant.status == Participant.Status.LEFT:
            return BookingStatus.CANCELLED
        return self.booking.status

    @property
    def party_size(self) -> int:
        return self.participant.party_size if self.participant is not None else self.booking.party_size

    @property
    def paid_deposit_minor(self) -> int:
        booking = self.booking
        return booking.deposit_minor if booking.payment_status == Booking.PaymentStatus.PAID else 0


def managed_booking(looked_up: LookedUp) -> ManagedBooking:
    """The customer's view of a booking they proved with `booking_lookup` or a signed link."""
    booking, contact = looked_up.booking, looked_up.contact
    participant = None
    if booking.is_group:
        places = [
            p
            for p in booking.participants.select_related("customer").order_by("-id")
            if contact_matches(contact["email"] or contact["phone"], email=p.customer.email, phone=p.customer.phone)
        ]
        active = [p for p in places if p.status == Participant.Status.ACTIVE]
        participant = next(iter(active or places), None)
    return ManagedBooking(booking=booking, contact=contact, participant=participant)


@dataclass(frozen=True)
class ChangePolicy:
    """The organization's self-service rule for one booking, for pages to put in words."""

    cutoff_minutes: int
    deadline: datetime  # until when the booking may be cancelled or moved online
    deposit_minor: int  # the deposit paid online, refunded when cancelled before the deadline
    currency: str
    organization_name: str

    @property
    def cutoff_words(self) -> str:
        return duration_words(self.cutoff_minutes)


def change_policy(managed: ManagedBooking) -> ChangePolicy:
    booking = managed.booking
    organization = booking.organization
    minutes = organization.cancellation_cutoff_minutes
    return ChangePolicy(
        cutoff_minutes=minutes,
        deadline=booking.starts_at - timedelta(minutes=minutes),
        deposit_minor=managed.paid_deposit_minor,
        currency=organization.currency,
        organization_name=organization.name,
    )


def change_refusal(managed: ManagedBooking, *, now: datetime | None = None) -> str | None:
    """Why the customer may not cancel or move this booking now, or None if they may."""
    now = now or djtz.now()
    booking = managed.booking
    if managed.is_place:
        if managed.participant is None:
            return "Only a participant of this class can change their place in it"
        if managed.participant.status == Participant.Status.LEFT:
            return "Your place in this class is already cancelled"
    if booking.status == BookingStatus.CANCELLED:
        return "This booking is already cancelled"
    if booking.status not in CHANGEABLE_STATUSES:
        return f"This booking is {booking.get_status_display().lower()} and can no longer be changed"
    policy = change_policy(managed)
    if now >= policy.deadline:
        return (
            f"This booking can no longer be cancelled or rescheduled online: changes close "
            f"{policy.cutoff_words} before the start. Please contact {policy.organization_name}."
        )
    return None


def _refuse_unless_changeable(managed: ManagedBooking, now: datetime) -> None:
    refusal = change_refusal(managed, now=now)
    if refusal:
        raise Unprocessable(refusal)


def refund_due_minor(managed: ManagedBooking, *, now: datetime | None = None) -> int:
    """What cancelling now would refund: the paid deposit while the booking may still be cancelled."""
    return managed.paid_deposit_minor if change_refusal(managed, now=now) is None else 0


@dataclass(frozen=True)
class SelfCancelled:
    managed: ManagedBooking
    refund: DepositRefund | None = None


def booking_self_cancel(*, managed: ManagedBooking, reason: str = "", now: datetime | None = None) -> SelfCancelled:
    """Cancel the customer's booking (in a class: their place) before the cut-off (else 422).

    A paid deposit is refunded first (502 if Stripe fails: then nothing is cancelled); the
    cancellation, the refund's record and the webhook event are one transaction.
    """
    now = now or djtz.now()
    _refuse_unless_changeable(managed, now)
    reason = reason.strip()[:500] or DEFAULT_REASON
    if managed.is_place:
        assert managed.participant is not None  # a class is only managed through a place
        participant = participant_leave(participant=managed.participant, actor=CUSTOMER, now=now)
        return SelfCancelled(managed=ManagedBooking(managed.booking, managed.contact, participant))
    refund = deposit_refund(booking=managed.booking) if managed.paid_deposit_minor else None
    with transaction.atomic():
        booking = Booking.objects.select_for_update().get(pk=managed.booking.pk)
        fresh = ManagedBooking(booking, managed.contact)
        if refund is None:
            _refuse_unless_changeable(fresh, now)  # re-checked under the row lock
        if refund is not None and booking.payment_status != Booking.PaymentStatus.REFUNDED:
            # Recorded before the cancel, so the cancellation email says the deposit was refunded.
            booking = deposit_refunded_record(booking=booking, refund=refund, actor=CUSTOMER)
        booking = booking_cancel(booking=booking, actor=CUSTOMER, reason=reason)
    booking = Booking.objects.select_related("organization", "service", "location", "staff").get(pk=booking.pk)
    return SelfCancelled(managed=ManagedBooking(booking, managed.contact), refund=refund)


def reschedule_slots(
    *, managed: ManagedBooking, start: datetime, end: datetime, now: datetime | None = None
) -> list[Slot]:
    """The free slots the customer may move to in [start, end): the same service at the same location
    (with the same staff member), the booking's own slot not counted against it; its own start left out."""
    booking = managed.booking
    if booking.is_group:
        slots = find_slots(
            booking.service, start, end, location=booking.location, party_size=managed.party_size, now=now
        )
    else:
        slots = find_slots(
            booking.service,
            start,
            end,
            location=booking.location,
            staff=booking.staff,
            party_size=booking.party_size,
            now=now,
            ignore_booking=booking,
        )
    return [slot for slot in slots if slot.starts_at != booking.starts_at]


def booking_self_reschedule(
    *, managed: ManagedBooking, starts_at: datetime, now: datetime | None = None
) -> ManagedBooking:
    """Move the customer's booking to another free slot of its service before the cut-off (422 if not,
    409 if taken). An appointment moves in place (SEQUENCE grows); a class place leaves its session
    for the session at `starts_at`, which it joins (or opens), in one transaction: the new session is
    another booking, with its own confirmation number."""
    now = now or djtz.now()
    booking = managed.booking
    if starts_at == booking.starts_at:
        raise Unprocessable("starts_at: that is the time the booking already has")
    if not managed.is_place:
        with transaction.atomic():
            fresh = ManagedBooking(Booking.objects.select_for_update().get(pk=booking.pk), managed.contact)
            _refuse_unless_changeable(fresh, now)
            moved = booking_reschedule(booking=fresh.booking, starts_at=starts_at, actor=CUSTOMER, now=now)
        return ManagedBooking(moved, managed.contact)
    _refuse_unless_changeable(managed, now)
    participant = managed.participant
    assert participant is not None  # a class is only managed through a place
    with transaction.atomic():
        participant = Participant.objects.select_for_update().select_related("customer").get(pk=participant.pk)
        _refuse_unless_changeable(ManagedBooking(booking, managed.contact, participant), now)
        session = booking_create(
            service=booking.service,
            location=booking.location,
            starts_at=starts_at,
            customer=participant.customer,
            actor=CUSTOMER,
            party_size=participant.party_size,
            status=group_initial_status(booking.service, participant.party_size),
            source="self_service",
            customer_note=participant.note,
            now=now,
        )
        participant_leave(participant=participant, actor=CUSTOMER, now=now)
        place = Participant.objects.select_related("customer").get(
            booking=session, customer=participant.customer, status=Participant.Status.ACTIVE
        )
    session = Booking.objects.select_related("organization", "service", "location", "staff").get(pk=session.pk)
    return ManagedBooking(session, managed.contact, place)
