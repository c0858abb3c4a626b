"""Group minimums: a class or event below its service's `capacity_min` is pending, confirmed once it fills.

The maximum is the engine's business (a full session is a 409); the minimum decides whether the
session is going ahead, which is what `pending` and `confirmed` tell customers and merchants.
"""

from bookings.models import Booking, BookingStatus
from bookings.services.actors import Actor
from bookings.services.status import booking_transition
from organizations.models import Customer, Service


def group_initial_status(service: Service, seats: int) -> str:
    """The status a new group session opens with when `seats` are booked at once."""
    if service.is_group and seats < service.capacity_min:
        return BookingStatus.PENDING
    return BookingStatus.CONFIRMED


def session_confirm_on_quorum(*, session: Booking, actor: Actor, joined: Customer | None = None) -> Booking:
    """Confirm a pending group session whose active seats have reached the minimum.

    Its participants are emailed that it goes ahead (bookings.services.status); `joined`, a
    booker whose own request sends them their confirmation, is left out of that notice.
    """
    session.refresh_from_db(fields=["status", "party_size"])
    if (
        session.is_group
        and session.status == BookingStatus.PENDING
        and session.party_size >= session.service.capacity_min
    ):
        return booking_transition(booking=session, to_status=BookingStatus.CONFIRMED, actor=actor, notice_except=joined)
    return session
