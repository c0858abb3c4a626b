"""Recording what happened to a booking's deposit, audited like every other change."""

from bookings.models import Booking
from bookings.payments.refunds import DepositRefund
from bookings.services.actors import Actor
from bookings.services.audit import audit_record


def deposit_refunded_record(*, booking: Booking, refund: DepositRefund, actor: Actor) -> Booking:
    """Mark the (row-locked) booking's deposit refunded, with the refund's id and amount in the audit trail."""
    audit_record(
        booking=booking,
        action="deposit_refunded",
        actor=actor,
        from_value=booking.payment_status,
        to_value={"refund_id": refund.refund_id, "amount_minor": refund.amount_minor, "status": refund.status},
    )
    booking.payment_status = Booking.PaymentStatus.REFUNDED
    booking.save(update_fields=["payment_status", "updated_at"])
    return booking
