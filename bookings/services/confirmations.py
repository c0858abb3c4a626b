"""Sending a booking's confirmation again, when a customer says it never arrived."""

from django.db import transaction

from bookings.models import ACTIVE_STATUSES, Booking, BookingStatus, Participant
from bookings.notifications import booking_confirmation_queue
from bookings.services.actors import Actor
from bookings.services.audit import audit_record
from organizations.errors import Unprocessable


def booking_confirmation_resend(*, booking: Booking, actor: Actor) -> list[str]:
    """Email the confirmation again, queued in the outbox and sent after commit (to each active participant with an email, for a
    group session; else the booking's contact), audited; returns the addresses.

    422 for a booking that is no longer active or still awaits its deposit (it has nothing to
    confirm yet), and when nobody on it has an email address.
    """
    with transaction.atomic():
        booking = (
            Booking.objects.select_for_update(of=("self",))
            .select_related("organization", "service", "location")
            .get(pk=booking.pk)
        )
        if booking.status not in ACTIVE_STATUSES:
            raise Unprocessable(f"A {booking.get_status_display().lower()} booking has no confirmation to send")
        if booking.status == BookingStatus.PENDING and booking.payment_status == Booking.PaymentStatus.REQUIRED:
            raise Unprocessable("This booking awaits its deposit: the confirmation is sent once it is paid")
        places: list[Participant | None]
        if booking.is_group:
            joined = booking.participants.filter(status=Participant.Status.ACTIVE).select_related("customer")
            with_email = [p for p in joined if p.customer.email]
            places, recipients = list(with_email), [p.customer.email for p in with_email]
        else:
            places = [None] if booking.contact_email else []
            recipients = [booking.contact_email] if booking.contact_email else []
        if not recipients:
            raise Unprocessable("Nobody on this booking has an email address")
        audit_record(booking=booking, action="confirmation_resent", actor=actor, to_value=", ".join(recipients))
        for place in places:
            booking_confirmation_queue(booking, participant=place)
    return recipients
