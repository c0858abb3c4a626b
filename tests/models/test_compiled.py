"""Compiled reads and inserts (organizations/compiled.py) give exactly what the ORM gives."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models.signals import post_save, pre_save
from django.test.utils import CaptureQueriesContext

from bookings.models import Booking, BookingEvent, WebhookEvent
from organizations.compiled import CompiledQuery, insert_with_riders
from organizations.models import Location, Service
from tests.factories import future_day, local_dt, make_booking, make_location, make_org, make_service, make_staff

pytestmark = pytest.mark.django_db

LOCATIONS = CompiledQuery(
    lambda service_id: Location.objects.filter(services=service_id).select_related("organization").order_by("id"), -1
)


def _fields(instance) -> dict:
    return {field.attname: getattr(instance, field.attname) for field in instance._meta.concrete_fields}


def test_a_compiled_read_gives_the_orms_instances_with_their_related_rows():
    org = make_org(timezone="Europe/Berlin")
    first, second = make_location(org), make_location(org, timezone="Asia/Tokyo")
    service = make_service(org, locations=[second, first])
    other = make_service(org, locations=[first])

    found = LOCATIONS.fetch(service.pk)
    expected = list(Location.objects.filter(services=service).select_related("organization").order_by("id"))
    assert [_fields(loc) for loc in found] == [_fields(loc) for loc in expected]
    assert [_fields(loc.organization) for loc in found] == [_fields(loc.organization) for loc in expected]
    with CaptureQueriesContext(connection) as ctx:
        assert found[0].organization.created_at.tzinfo is not None  # converted as the ORM converts
        assert found[1].tz.key == "Asia/Tokyo"
    assert ctx.captured_queries == []  # the organization came with the row
    assert [loc.pk for loc in LOCATIONS.fetch(other.pk)] == [first.pk]  # the next values, same statement
    assert LOCATIONS.fetch(-5) == []


def test_a_query_whose_placeholders_are_not_its_parameters_is_refused():
    wrong = CompiledQuery(lambda slug: Service.objects.filter(slug="cut"), "<slug>")
    with pytest.raises(ValueError, match="placeholders"):
        wrong.fetch("cut")


def test_a_compiled_insert_saves_what_save_saves_and_sends_post_save():
    org = make_org()
    location = make_location(org)
    staff = make_staff(org)
    service = make_service(org, locations=[location], staff=[staff])
    saved = []

    def receiver(sender, instance, created, **kwargs):
        saved.append((sender, instance.pk, created))

    post_save.connect(receiver, sender=Booking)
    try:
        booking = make_booking(service, location, local_dt("America/New_York", future_day(), 10), staff=staff)
    finally:
        post_save.disconnect(receiver, sender=Booking)
    assert booking.pk is not None and saved == [(Booking, booking.pk, True)]
    assert booking.confirmation_number == booking.public_id.upper()  # Booking.save()'s own work ran
    assert booking.created_at is not None and booking.uuid is not None  # auto_now_add and the default
    assert _fields(Booking.objects.get(pk=booking.pk)) == _fields(booking)
    event = BookingEvent.objects.create(booking=booking, action="created", actor="test", to_value={"a": [1, 2]})
    assert BookingEvent.objects.get(pk=event.pk).to_value == {"a": [1, 2]}
    webhook = WebhookEvent.objects.create(organization=org, type="booking.created", data={"id": booking.public_id})
    assert WebhookEvent.objects.get(pk=webhook.pk).data == {"id": booking.public_id}


def test_a_compiled_insert_refused_by_a_constraint_raises_as_save_does():
    org = make_org()
    location = make_location(org)
    service = make_service(org, locations=[location])
    first = make_booking(service, location, local_dt("America/New_York", future_day(), 10))
    with pytest.raises(IntegrityError), transaction.atomic():
        make_booking(service, location, local_dt("America/New_York", future_day(), 12), public_id=first.public_id)
    assert Booking.objects.count() == 1


def _booking_fields(service, location, start, **fields) -> dict:
    return {
        "organization_id": service.organization_id,
        "service": service,
        "location": location,
        "starts_at": start,
        "ends_at": start + timedelta(minutes=service.duration_minutes),
        "blocked_start": start,
        "blocked_end": start + timedelta(minutes=service.duration_minutes),
        "timezone": location.tz.key,
        **fields,
    }


def _riders(org):
    def build(booking):
        return [
            BookingEvent(booking=booking, action="created", actor="test", to_value={"n": booking.confirmation_number}),
            WebhookEvent(organization=org, type="booking.created", data={"id": booking.public_id}),
        ]

    return build


def test_a_row_and_its_riders_are_saved_as_save_saves_them_in_one_statement_on_postgresql():
    org = make_org()
    location = make_location(org)
    service = make_service(org, locations=[location])
    start = local_dt("America/New_York", future_day(), 10)
    signals = []

    def receiver(sender, instance, created=None, **kwargs):
        signals.append((sender.__name__, "post_save" if created is not None else "pre_save", created))

    for signal in (pre_save, post_save):
        for model in (Booking, BookingEvent, WebhookEvent):
            signal.connect(receiver, sender=model)
    try:
        with CaptureQueriesContext(connection) as ctx:
            booking, (event, webhook) = insert_with_riders(
                lambda: Booking.objects.create(**_booking_fields(service, location, start)), _riders(org)
            )
    finally:
        for signal in (pre_save, post_save):
            for model in (Booking, BookingEvent, WebhookEvent):
                signal.disconnect(receiver, sender=model)
    inserts = [q for q in ctx.captured_queries if "INSERT" in q["sql"]]
    assert len(inserts) == (1 if connection.vendor == "postgresql" else 3)
    # Each rider was saved as save(force_insert=True) saves: its signals, its key, its row.
    assert sorted(signals, key=str) == sorted(
        [(model, signal, created) for model in ("Booking", "BookingEvent", "WebhookEvent")
         for signal, created in (("pre_save", None), ("post_save", True))], key=str
    )  # fmt: skip
    assert event.booking_id == booking.pk and not event._state.adding
    assert _fields(BookingEvent.objects.get(pk=event.pk)) == _fields(event)
    assert BookingEvent.objects.get(pk=event.pk).to_value == {
        "n": booking.confirmation_number
    }  # built after save()'s work
    assert _fields(WebhookEvent.objects.get(pk=webhook.pk)) == _fields(webhook)
    assert _fields(Booking.objects.get(pk=booking.pk)) == _fields(booking)


def test_a_row_refused_by_a_constraint_writes_none_of_its_riders():
    org = make_org()
    location = make_location(org)
    service = make_service(org, locations=[location])
    first = make_booking(service, location, local_dt("America/New_York", future_day(), 10))
    start = local_dt("America/New_York", future_day(), 12)
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_with_riders(
            lambda: Booking.objects.create(**_booking_fields(service, location, start, public_id=first.public_id)),
            _riders(org),
        )
    assert (Booking.objects.count(), BookingEvent.objects.count(), WebhookEvent.objects.count()) == (1, 0, 0)


def test_a_rider_that_cannot_ride_is_saved_after_the_row():
    org = make_org()
    location = make_location(org)
    service = make_service(org, locations=[location])
    start = local_dt("America/New_York", future_day(), 10)
    taken = WebhookEvent.objects.create(organization=org, type="booking.created").pk + 100

    def build(booking):  # a primary key of its own: Django's INSERT, after the row's
        return [BookingEvent(booking=booking, action="created", actor="test"),
                WebhookEvent(pk=taken, organization=org, type="booking.created")]  # fmt: skip

    booking, (event, webhook) = insert_with_riders(
        lambda: Booking.objects.create(**_booking_fields(service, location, start)), build
    )
    assert BookingEvent.objects.get(pk=event.pk).booking_id == booking.pk
    assert WebhookEvent.objects.get(pk=taken).organization_id == org.pk == webhook.organization_id
