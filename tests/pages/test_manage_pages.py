"""The manage page through Django's test client: look up, the signed link, cancel, reschedule, a class place."""

import html
import re
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.utils import timezone

from bookings.ics import manage_path
from bookings.models import Booking, Participant
from bookings.services.bookings import Contact
from tests.factories import make_booking, make_core_booking, make_customer
from tests.salon import paid_color

pytestmark = pytest.mark.django_db
SAME_MESSAGE = "We could not find a booking with that confirmation number and email or phone."


def text(response) -> str:
    return html.unescape(response.content.decode())


def starts(response) -> list[str]:
    return re.findall(r'name="start" value="([^"]+)"', response.content.decode())


def credentials(path: str) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(path).query).items()}


@pytest.fixture
def booking(salon):
    jane = make_customer(salon.org, email="jane@example.com", phone="+15551234567")
    return make_core_booking(
        salon.haircut,
        starts_at=salon.at(10),
        customer=jane,
        staff=salon.alex,
        timezone="America/New_York",
        notes="Short on the sides",
        contact=Contact(name="Jane Doe", email="jane@example.com", phone="+1 555 123 4567"),
    )


def test_the_lookup_form_shows_its_fields_and_their_errors(client, db):
    page = text(client.get("/manage-booking"))
    assert ">Confirmation number</label>" in page and ">Email or phone</label>" in page
    response = client.post("/manage-booking", {"confirmation": "", "contact": ""})
    assert response.status_code == 400
    assert 'id="id_confirmation_error_1">This field is required.' in text(response)
    assert 'id="id_contact_error_1">This field is required.' in text(response)


def test_unknown_number_and_wrong_contact_read_the_same(client, booking):
    unknown = client.post("/manage-booking", {"confirmation": "BOOK_NOSUCHTHING", "contact": "jane@example.com"})
    wrong = client.post("/manage-booking", {"confirmation": booking.confirmation_number, "contact": "john@x.org"})
    assert unknown.status_code == wrong.status_code == 404
    assert SAME_MESSAGE in text(unknown) and SAME_MESSAGE in text(wrong)
    strip = lambda r: re.sub(r'name="(csrfmiddlewaretoken|confirmation|contact)" value="[^"]*"', "", text(r))  # noqa: E731
    assert strip(unknown) == strip(wrong)


def test_lookup_by_email_or_phone_moves_to_the_signed_link(client, booking):
    for contact in ("JANE@example.com", "+1 (555) 123-4567"):
        response = client.post(
            "/manage-booking", {"confirmation": booking.confirmation_number.lower(), "contact": contact}
        )
        assert response.status_code == 302
        assert response["Location"] == manage_path(booking, contact)
        assert "Your booking" in text(client.get(response["Location"]))


def test_the_emails_query_string_looks_the_booking_up(client, booking):
    response = client.get(f"/manage-booking?confirmation={booking.confirmation_number}&contact=jane@example.com")
    assert response.status_code == 302 and "token=" in response["Location"]


def test_failures_share_the_lookup_apis_counters_and_end_in_429(client, api_client, booking, settings):
    settings.LOOKUP_FAILURE_LIMIT = 3
    api = f"/api/calendar/v1/public/bookings/confirmation/{booking.confirmation_number}"
    assert api_client.get(api, {"contact": "x@y.z"}).status_code == 403
    assert (
        client.post("/manage-booking", {"confirmation": booking.confirmation_number, "contact": "a@b.c"}).status_code
        == 404
    )
    assert api_client.get(api, {"contact": "x@y.z"}).status_code == 403
    limited = client.post(
        "/manage-booking", {"confirmation": booking.confirmation_number, "contact": "jane@example.com"}
    )
    assert limited.status_code == 429 and "Too many attempts from your connection." in text(limited)
    assert api_client.get(api, {"contact": "jane@example.com"}).status_code == 429
    # The emailed link still opens: its token does not go through the counters.
    assert "Your booking" in text(client.get(manage_path(booking, "jane@example.com")))


@pytest.mark.parametrize("token", ["", "garbage", "zzzzzz.abc"])
def test_a_wrong_token_falls_back_to_the_form(client, booking, token):
    response = client.get(
        f"/manage-booking?confirmation={booking.confirmation_number}&contact=jane@example.com&token={token or 'x'}"
    )
    page = text(response)
    assert response.status_code == 200 and "This link is no longer valid." in page
    assert f'value="{booking.confirmation_number}"' in page and 'value="jane@example.com"' in page


def test_an_expired_token_falls_back_to_the_form(client, booking, monkeypatch):
    link = manage_path(booking, "jane@example.com")
    later = booking.ends_at + timedelta(days=31)
    monkeypatch.setattr(timezone, "now", lambda: later)
    assert "This link is no longer valid." in text(client.get(link))


def test_the_manage_page_shows_the_booking_in_its_zone_with_the_policy(client, booking, salon):
    page = text(client.get(manage_path(booking, "jane@example.com")))
    for shown in (
        booking.confirmation_number,
        "Confirmed",
        "Haircut",
        "10:00–11:00",
        "(America/New_York)",
        "Main Street, 1 Main St",
        "Alex",
        "Short on the sides",
        "Download invite (.ics)",
        "Google Calendar",
        "Outlook",
        "Free cancellation and rescheduling online until 2 hours before the start.",
        "After that, please contact Kind Salon to change the booking.",
        "Reschedule",
        "Cancel booking",
    ):
        assert shown in page, shown


def test_cancel_has_a_confirmation_step_then_cancels_with_the_reason(client, booking):
    link = manage_path(booking, "jane@example.com")
    cancel_url = re.search(r'href="(/manage-booking/cancel\?[^"]+)"', client.get(link).content.decode()).group(1)
    step = client.get(html.unescape(cancel_url))
    assert "Cancel this booking?" in text(step) and ">Reason (optional)</label>" in text(step)
    assert Booking.objects.get(pk=booking.pk).status == "confirmed"
    done = client.post("/manage-booking/cancel", {**credentials(link), "reason": "Travelling"})
    assert done.status_code == 302
    booking.refresh_from_db()
    assert (booking.status, booking.cancellation_reason) == ("cancelled", "Travelling")
    page = text(client.get(done["Location"]))
    assert "Your booking is cancelled." in page and "Cancelled" in page and "Cancel booking" not in page


def test_inside_the_cutoff_cancel_and_reschedule_are_refused_on_the_page(client, salon):
    soon = timezone.now().replace(microsecond=0) + timedelta(minutes=90)
    booking = make_booking(salon.haircut, salon.location, soon, staff=salon.alex, contact_email="jane@example.com")
    link = manage_path(booking, "jane@example.com")
    refusal = "This booking can no longer be cancelled or rescheduled online: changes close 2 hours before the start."
    assert refusal in text(client.get(link))
    for action in ("cancel", "reschedule"):
        step = text(client.get(f"/manage-booking/{action}?{urlsplit(link).query}"))
        assert refusal in step and "<button" not in step.split("</header>")[1]
    posted = client.post("/manage-booking/cancel", credentials(link))
    assert posted.status_code == 422 and refusal in text(posted)
    moved = client.post(
        "/manage-booking/reschedule", {**credentials(link), "start": (soon + timedelta(hours=2)).isoformat()}
    )
    assert moved.status_code == 422
    booking.refresh_from_db()
    assert (booking.status, booking.starts_at) == ("confirmed", soon)


def test_before_the_cutoff_the_deposit_is_refunded_and_the_page_says_so_first(client, salon, stripe_api):
    booking = paid_color(salon, stripe_api)
    link = manage_path(booking, "jane@example.com")
    assert "your deposit of $20.00 is refunded in full" in text(client.get(link))
    step = text(client.get(f"/manage-booking/cancel?{urlsplit(link).query}"))
    assert "Your deposit of $20.00 will be refunded in full" in step
    done = client.post("/manage-booking/cancel", credentials(link))
    assert len(stripe_api.refund_requests) == 1
    assert "Your deposit of $20.00 is being refunded" in text(client.get(done["Location"]))
    assert Booking.objects.get(pk=booking.pk).payment_status == "refunded"


def test_after_the_cutoff_the_deposit_is_kept_and_nothing_is_refunded(client, salon, stripe_api, monkeypatch):
    booking = paid_color(salon, stripe_api)
    link = manage_path(booking, "jane@example.com")
    inside = booking.starts_at - timedelta(minutes=30)
    monkeypatch.setattr(timezone, "now", lambda: inside)
    page = text(client.get(link))
    assert "after that the booking can no longer be changed online and the deposit is kept" in page
    assert client.post("/manage-booking/cancel", credentials(link)).status_code == 422
    assert stripe_api.refund_requests == []
    assert Booking.objects.get(pk=booking.pk).payment_status == "paid"


def test_a_refund_that_fails_says_so_and_cancels_nothing(client, salon, stripe_api):
    booking = paid_color(salon, stripe_api)
    stripe_api.fail_refunds_with = 500
    response = client.post("/manage-booking/cancel", credentials(manage_path(booking, "jane@example.com")))
    assert response.status_code == 502 and "could not be refunded right now" in text(response)
    assert Booking.objects.get(pk=booking.pk).status == "confirmed"


def test_reschedule_lists_slots_overlapping_its_own_and_moves_the_booking(client, booking, salon):
    link = manage_path(booking, "jane@example.com")
    step = client.get(f"/manage-booking/reschedule?{urlsplit(link).query}&date={salon.day.isoformat()}")
    offered = starts(step)
    assert salon.at(10, 30).isoformat() in offered and salon.at(10).isoformat() not in offered
    assert "Now: Haircut on" in text(step) and "(America/New_York)" in text(step)
    done = client.post("/manage-booking/reschedule", {**credentials(link), "start": salon.at(10, 30).isoformat()})
    assert done.status_code == 302
    booking.refresh_from_db()
    assert (booking.starts_at, booking.sequence) == (salon.at(10, 30), 1)
    page = text(client.get(done["Location"]))
    assert "Your booking is moved." in page and "10:30–11:30" in page


def test_the_reschedule_page_opens_on_the_bookings_own_day(client, booking, salon):
    """Not on the first day with a free slot (today, often): a move is usually a small one, and a
    slot today may fall inside the cut-off, after which the booking could not be changed again."""
    link = manage_path(booking, "jane@example.com")
    offered = starts(client.get(f"/manage-booking/reschedule?{urlsplit(link).query}"))
    zone = booking.location.tz
    assert offered, "the booking's day has free times"
    assert {datetime.fromisoformat(start).astimezone(zone).date() for start in offered} == {salon.day}


def test_a_slot_taken_meanwhile_shows_fresh_times_on_the_reschedule_page(client, booking, salon):
    make_core_booking(salon.haircut, starts_at=salon.at(14), staff=salon.alex)
    link = manage_path(booking, "jane@example.com")
    response = client.post("/manage-booking/reschedule", {**credentials(link), "start": salon.at(14).isoformat()})
    assert response.status_code == 409
    assert "Sorry, that time was just taken. Here are the times still free." in text(response)
    assert salon.at(15).isoformat() in starts(response) and salon.at(14).isoformat() not in starts(response)


@pytest.mark.parametrize("start", ["", "soon", "2026-01-01T10:00:00"])
def test_a_bad_reschedule_value_is_a_message(client, booking, start):
    link = manage_path(booking, "jane@example.com")
    response = client.post("/manage-booking/reschedule", {**credentials(link), "start": start})
    assert response.status_code == 400 and "Pick one of the times shown." in text(response)


@pytest.mark.parametrize("action", ["cancel", "reschedule"])
def test_actions_without_a_valid_token_go_back_to_the_form(client, booking, action):
    body = {"confirmation": booking.confirmation_number, "contact": "jane@example.com", "token": "forged.sig"}
    for response in (client.get(f"/manage-booking/{action}"), client.post(f"/manage-booking/{action}", body)):
        assert response.status_code == 302 and response["Location"] == "/manage-booking"
    assert Booking.objects.get(pk=booking.pk).status == "confirmed"


def test_a_class_participant_manages_only_their_own_place(salon):
    jane, john = make_customer(salon.org, email="jane@example.com"), make_customer(salon.org, email="john@example.com")
    session = make_core_booking(salon.yoga, starts_at=salon.at(15), customer=jane)
    make_core_booking(salon.yoga, starts_at=salon.at(15), customer=john, party_size=2)
    browser = Client()
    link = manage_path(session, "john@example.com")
    page = text(browser.get(link))
    assert "Cancel my place" in page and "Places" in page and "john@example.com" not in page.split("Name")[0]
    assert f"participant={session.participants.get(customer=john).uuid}" in page  # his own invite
    moved = browser.post("/manage-booking/reschedule", {**credentials(link), "start": salon.at(9).isoformat()})
    assert moved.status_code == 302
    new_session = Booking.objects.get(starts_at=salon.at(9))
    assert new_session.confirmation_number in moved["Location"]
    assert "Your booking is moved." in text(browser.get(moved["Location"]))
    assert session.participants.get(customer=jane).status == "active"
    # His old link shows his place there as cancelled; Jane's class is untouched.
    assert "Cancelled" in text(browser.get(link))
    new_link = manage_path(new_session, "john@example.com")
    assert browser.post("/manage-booking/cancel", credentials(new_link)).status_code == 302
    assert Participant.objects.get(booking=new_session, customer=john).status == "left"
    assert Booking.objects.get(pk=session.pk).status == "confirmed"
