"""Emails to customers, written to an outbox in the transaction of the change that causes them.

Who is emailed when (the services call these, so every surface sends the same emails):

| change (service) | who | email |
| --- | --- | --- |
| public booking, or a hold converted (`public_booking_create`, `hold_booking_create`: the APIs, widgets, the booking pages) | the booker (in a class: their own place) | confirmation, or "received" while a class waits for its minimum |
| deposit paid (Stripe, `checkout_completed`) | the booker | confirmation |
| a class reaches its minimum or a merchant confirms it (`booking_transition`) | every active participant, except a booker whose own confirmation says it | confirmation ("goes ahead") |
| moved (`booking_reschedule`, PATCH of its time) | the contact | reschedule: new and old time, invite with SEQUENCE+1 |
| cancelled by anyone (`booking_cancel`, `booking_transition`) | the contact, or every active participant of a class | cancellation, invite with METHOD:CANCEL |
| deposit not paid in time (Stripe, `checkout_expired`) | the booker | "released because the deposit was not paid" |
| a participant leaves (`participant_leave`) | that participant only | their place cancelled, their invite cancelled |
| the organization's lead time before the start (`manage.py send_reminders`) | the contact, or each active participant | reminder |

Bookings a merchant makes (`merchant_booking_create`, series) and `customer_booking_create` send
no confirmation, but every email after. Nobody is emailed about a booking that has already ended,
and merchants get webhooks, not email. A series cancelled at once emails each occurrence.
Every email is HTML with a text alternative, in the booking's time zone, with the manage link and
the invite; in a class each participant reads only their own details.
"""

from bookings.notifications.booking_emails import (
    booking_cancelled_queue,
    booking_confirmation_message,
    booking_confirmation_prepared,
    booking_confirmation_queue,
    booking_rescheduled_queue,
    participant_left_queue,
    session_confirmed_queue,
)
from bookings.notifications.outbox import PreparedEmails

__all__ = [
    "PreparedEmails",
    "booking_cancelled_queue",
    "booking_confirmation_message",
    "booking_confirmation_prepared",
    "booking_confirmation_queue",
    "booking_rescheduled_queue",
    "participant_left_queue",
    "session_confirmed_queue",
]
