"""The services every surface shares: create, convert a hold, reschedule, join and leave a group."""

from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone

from bookings.models import Booking, BookingEvent, Participant, WebhookEvent
from bookings.services.actors import SYSTEM
from bookings.services.bookings import (
    booking_create,
    booking_create_from_hold,
    booking_reschedule,
    participant_join,
    participant_leave,
)
from bookings.services.holds import hold_place
from bookings.services.status import booking_cancel, booking_transition
from holds.models import Hold
from organizations.errors import Conflict, NotFound, Unprocessable
from organizations.models import Service
from tests.factories import future_day, local_dt, make_customer, make_location, make_org, make_service, make_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    org = make_org()
    location = make_location(org, hours=(time(9), time(17)))
    alex = make_staff(org)
    service = make_service(org, locations=[location], staff=[alex], buffer_after_minutes=15)
    return org, location, alex, service


def at(org, hour, minute=0, days=7):
    return local_dt(org.timezone, future_day(days_ahead=days), hour, minute)


def test_create_records_the_booking_the_audit_row_and_the_event(shop):
    org, location, alex, service = shop
    jane = make_customer(org, email="jane@example.com", phone="+1234567890")
    booking = booking_create(service=service, location=location, starts_at=at(org, 10), customer=jane, actor=SYSTEM)
    assert booking.staff == alex and booking.status == "confirmed"
    assert booking.blocked_end == booking.ends_at + timedelta(minutes=15)
    assert booking.contact_email == "jane@example.com" and booking.timezone == org.timezone
    assert booking.confirmation_number == booking.public_id.upper()
    assert BookingEvent.objects.filter(booking=booking, action="created").exists()
    assert WebhookEvent.objects.filter(type="booking.created", data__id=booking.public_id).exists()
    with pytest.raises(Conflict):
        booking_create(service=service, location=location, starts_at=at(org, 10), customer=jane, actor=SYSTEM)
    with pytest.raises(Conflict):  # the buffer after 10:00-11:00 reaches 11:15
        booking_create(service=service, location=location, starts_at=at(org, 11), customer=jane, actor=SYSTEM)


def test_a_hold_passes_its_slot_to_the_booking(shop):
    org, location, alex, service = shop
    hold = hold_place(service=service, location=location, starts_at=at(org, 10))
    with pytest.raises(Conflict):  # held: nobody else gets it
        booking_create(service=service, location=location, starts_at=at(org, 10), customer=make_customer(org),
                       actor=SYSTEM)  # fmt: skip
    booking = booking_create_from_hold(hold=hold, customer=make_customer(org), actor=SYSTEM)
    assert booking.hold == hold and booking.staff == alex
    assert Hold.objects.get(pk=hold.pk).status == "converted"
    with pytest.raises(Conflict, match="already been converted"):
        booking_create_from_hold(hold=hold, customer=make_customer(org), actor=SYSTEM)


def test_an_expired_or_released_hold_cannot_be_converted(shop):
    org, location, alex, service = shop
    hold = hold_place(service=service, location=location, starts_at=at(org, 10))
    later = timezone.now() + timedelta(minutes=org.hold_minutes, seconds=1)
    with pytest.raises(NotFound):
        booking_create_from_hold(hold=hold, customer=make_customer(org), actor=SYSTEM, now=later)
    Hold.objects.filter(pk=hold.pk).update(status="released")
    with pytest.raises(NotFound):
        booking_create_from_hold(hold=hold, customer=make_customer(org), actor=SYSTEM)


def test_reschedule_moves_the_booking_and_grows_the_sequence(shop):
    org, location, alex, service = shop
    customer = make_customer(org)
    booking = booking_create(service=service, location=location, starts_at=at(org, 10), customer=customer, actor=SYSTEM)
    other = booking_create(service=service, location=location, starts_at=at(org, 14), customer=customer, actor=SYSTEM)

    moved = booking_reschedule(booking=booking, starts_at=at(org, 11), actor=SYSTEM)  # overlaps only itself
    assert moved.starts_at == at(org, 11) and moved.sequence == 1
    event = BookingEvent.objects.get(booking=booking, action="rescheduled")
    assert datetime.fromisoformat(event.from_value["starts_at"]) == at(org, 10)
    assert WebhookEvent.objects.filter(type="booking.rescheduled").count() == 1
    with pytest.raises(Conflict):
        booking_reschedule(booking=booking, starts_at=at(org, 14), actor=SYSTEM)
    with pytest.raises(Unprocessable, match="outside service hours"):
        booking_reschedule(booking=booking, starts_at=at(org, 20), actor=SYSTEM)
    booking_cancel(booking=other, actor=SYSTEM)
    assert booking_reschedule(booking=booking, starts_at=at(org, 14), actor=SYSTEM).sequence == 2
    with pytest.raises(Unprocessable):
        booking_reschedule(booking=Booking.objects.get(pk=other.pk), starts_at=at(org, 9), actor=SYSTEM)


def test_cancel_frees_the_slot(shop):
    org, location, alex, service = shop
    customer = make_customer(org)
    booking = booking_create(service=service, location=location, starts_at=at(org, 10), customer=customer, actor=SYSTEM)
    booking_cancel(booking=booking, actor=SYSTEM, reason="ill")
    again = booking_create(service=service, location=location, starts_at=at(org, 10), customer=customer, actor=SYSTEM)
    assert again.pk != booking.pk


def test_group_bookings_join_one_session_until_it_is_full():
    org = make_org()
    location = make_location(org)
    yoga = make_service(org, locations=[location], kind=Service.Kind.GROUP, capacity_min=2, capacity_max=4)
    starts_at = at(org, 10)
    first, second, third = make_customer(org), make_customer(org), make_customer(org)

    session = booking_create(service=yoga, location=location, starts_at=starts_at, customer=first, actor=SYSTEM,
                             party_size=2)  # fmt: skip
    assert session.is_group
    same = booking_create(service=yoga, location=location, starts_at=starts_at, customer=second, actor=SYSTEM)
    assert same.pk == session.pk and Booking.objects.get(pk=session.pk).party_size == 3
    with pytest.raises(Conflict, match="already joined"):
        participant_join(booking=session, customer=second, actor=SYSTEM)
    with pytest.raises(Conflict):
        participant_join(booking=session, customer=third, actor=SYSTEM, party_size=2)
    participant = participant_join(booking=session, customer=third, actor=SYSTEM)
    with pytest.raises(Conflict, match="full"):
        participant_join(booking=session, customer=make_customer(org), actor=SYSTEM)

    participant_leave(participant=participant, actor=SYSTEM)
    assert Participant.objects.get(pk=participant.pk).status == "left"
    assert participant_join(booking=session, customer=make_customer(org), actor=SYSTEM).status == "active"
    types = list(WebhookEvent.objects.values_list("type", flat=True))
    assert types.count("participant.joined") == 4 and types.count("participant.left") == 1


def test_joining_an_appointment_is_422(shop):
    org, location, alex, service = shop
    booking = booking_create(service=service, location=location, starts_at=at(org, 10), customer=make_customer(org),
                             actor=SYSTEM)  # fmt: skip
    with pytest.raises(Unprocessable):
        participant_join(booking=booking, customer=make_customer(org), actor=SYSTEM)


def test_a_pending_class_is_confirmed_when_a_joiner_from_any_surface_reaches_the_minimum():
    org = make_org()
    location = make_location(org)
    yoga = make_service(org, locations=[location], kind=Service.Kind.GROUP, capacity_min=3, capacity_max=10)
    starts_at = at(org, 10)
    session = booking_create(service=yoga, location=location, starts_at=starts_at, customer=make_customer(org),
                             actor=SYSTEM, status="pending")  # fmt: skip
    participant_join(booking=session, customer=make_customer(org), actor=SYSTEM)
    assert Booking.objects.get(pk=session.pk).status == "pending"
    booking_create(service=yoga, location=location, starts_at=starts_at, customer=make_customer(org), actor=SYSTEM)
    assert Booking.objects.get(pk=session.pk).status == "confirmed"
    assert BookingEvent.objects.filter(booking=session, action="status_changed", to_value="confirmed").exists()


def test_participants_are_emailed_once_their_class_reaches_its_minimum(mailoutbox, django_capture_on_commit_callbacks):
    org = make_org()
    location = make_location(org)
    yoga = make_service(org, locations=[location], kind=Service.Kind.GROUP, capacity_min=3, capacity_max=10)
    starts_at = at(org, 10)
    ann, bob, cat = (make_customer(org, email=f"{n}@example.com") for n in ("ann", "bob", "cat"))
    with django_capture_on_commit_callbacks(execute=True):
        session = booking_create(service=yoga, location=location, starts_at=starts_at, customer=ann, actor=SYSTEM,
                                 status="pending")  # fmt: skip
        participant_join(booking=session, customer=bob, actor=SYSTEM)
    assert mailoutbox == []  # still pending: nothing to announce
    with django_capture_on_commit_callbacks(execute=True):
        participant_join(booking=session, customer=cat, actor=SYSTEM)
        assert mailoutbox == []  # not before the commit
    assert sorted(m.to[0] for m in mailoutbox) == ["ann@example.com", "bob@example.com", "cat@example.com"]
    assert all(m.subject.startswith("Booking confirmed") for m in mailoutbox)
    # The invite replaces the tentative one: calendars apply it because its SEQUENCE grew.
    assert Booking.objects.get(pk=session.pk).sequence == session.sequence + 1


def test_a_class_the_merchant_confirms_below_its_minimum_emails_its_participants(
    mailoutbox, django_capture_on_commit_callbacks
):
    org = make_org()
    location = make_location(org)
    yoga = make_service(org, locations=[location], kind=Service.Kind.GROUP, capacity_min=5, capacity_max=10)
    ann = make_customer(org, email="ann@example.com")
    session = booking_create(service=yoga, location=location, starts_at=at(org, 10), customer=ann, actor=SYSTEM,
                             status="pending")  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        booking_transition(booking=session, to_status="confirmed", actor=SYSTEM)
    assert [(m.to, m.subject.split(" - ")[0]) for m in mailoutbox] == [(["ann@example.com"], "Booking confirmed")]


def test_releasing_a_hold_records_who_did(shop):
    from bookings.services.actors import Actor
    from bookings.services.holds import hold_release

    org, location, _alex, service = shop
    hold = hold_place(service=service, location=location, starts_at=at(org, 10))
    released = hold_release(hold=hold, actor=Actor(system="test-runner"))
    assert (released.status, released.released_by) == (Hold.Status.RELEASED, "system:test-runner")
    again = hold_release(hold=hold, actor=SYSTEM)  # no longer active: nothing changes
    assert again.released_by == "system:test-runner"


def test_a_customer_booking_is_one_transaction(shop, monkeypatch):
    """If anything after the booking fails (here the class's quorum check), nothing is kept."""
    from bookings.services import customer_bookings

    org, location, _alex, _service = shop
    yoga = make_service(org, locations=[location], kind=Service.Kind.GROUP, capacity_max=5)

    def fails(**kwargs):
        raise Conflict("boom")

    monkeypatch.setattr(customer_bookings, "session_confirm_on_quorum", fails)
    with pytest.raises(Conflict):
        customer_bookings.customer_booking_create(
            customer=make_customer(org), service=yoga, location=location, starts_at=at(org, 10), actor=SYSTEM
        )
    assert not Booking.objects.exists() and not Participant.objects.exists()


def test_joining_a_booking_that_is_not_joinable_names_nothing_of_it(shop):
    from bookings.services.customer_bookings import NOT_JOINABLE, customer_booking_create

    org, location, _alex, _service = shop
    yoga = make_service(org, locations=[location], kind=Service.Kind.GROUP, capacity_max=5)
    session = booking_create(
        service=yoga, location=location, starts_at=at(org, 10), customer=make_customer(org), actor=SYSTEM
    )
    with pytest.raises(Unprocessable) as refused:
        customer_booking_create(
            customer=make_customer(org),
            service=yoga,
            location=location,
            starts_at=at(org, 11),
            actor=SYSTEM,
            joining=session,
        )
    assert refused.value.detail == NOT_JOINABLE
    assert session.starts_at.isoformat()[:16] not in refused.value.detail


def test_a_booking_from_a_hold_creates_its_customer_in_the_same_transaction(shop, monkeypatch):
    from bookings.services import hold_bookings

    org, location, _alex, service = shop
    hold = hold_place(service=service, location=location, starts_at=at(org, 10))
    prepared = hold_bookings.hold_booking_prepare(
        hold=hold, client=hold_bookings.Client("New", "Person", "new.person@example.com"), actor=SYSTEM
    )

    def taken_meanwhile(**kwargs):
        raise Conflict()

    monkeypatch.setattr(hold_bookings, "booking_create_from_hold", taken_meanwhile)
    with pytest.raises(Conflict):
        hold_bookings.hold_booking_create(prepared=prepared)
    assert not org.customers.filter(email="new.person@example.com").exists()
