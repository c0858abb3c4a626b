"""Two merchants move two bookings onto one free time at the same moment: one wins, the other gets a
form error, and the staff member is never booked twice (real threads, SQLite and PostgreSQL)."""

import threading

import pytest
from django.db import close_old_connections, connection
from django.test import Client
from django.urls import reverse

from bookings.models import ACTIVE_STATUSES, Booking
from bookings.services.actors import SYSTEM
from bookings.services.bookings import booking_create
from tests.factories import make_customer

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_admin_reschedules_onto_one_slot_make_one_booking(bravo):
    moving = [
        booking_create(
            service=bravo.haircut,
            location=bravo.location,
            starts_at=bravo.at(hour),
            customer=make_customer(bravo.organization),
            actor=SYSTEM,
            staff=bravo.alex,
        )
        for hour in (15, 16)
    ]
    barrier = threading.Barrier(len(moving))
    answers: list = [None] * len(moving)

    def move(index: int) -> None:
        client = Client()
        client.force_login(bravo.owner if index else bravo.staff_user)
        try:
            barrier.wait()
            answers[index] = client.post(
                reverse("admin:bookings_booking_reschedule", args=[moving[index].pk]),
                {"date": str(bravo.day), "time": "12:00", "_move": "1"},
            )
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=move, args=(i,)) for i in range(len(moving))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200, 302]
    refused = next(answer for answer in answers if answer.status_code == 200)
    body = refused.content.decode()
    assert "no longer available" in body or "Another request is booking this time slot" in body
    at_noon = Booking.objects.filter(staff=bravo.alex, starts_at=bravo.at(12), status__in=ACTIVE_STATUSES)
    assert at_noon.count() == 1
