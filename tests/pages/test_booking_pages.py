"""The booking pages through Django's test client: every page, every form error, holds tied to the browser."""

import html
import re
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from bookings.models import Booking
from holds.models import Hold
from tests.factories import make_core_booking, make_hold, make_org

pytestmark = pytest.mark.django_db
NY = "America/New_York"


def text(response) -> str:
    return html.unescape(response.content.decode())


def starts(response) -> list[str]:
    return re.findall(r'name="start" value="([^"]+)"', response.content.decode())


def slots_url(salon, service="haircut", **params) -> str:
    query = "&".join(f"{k}={v}" for k, v in {"date": salon.day.isoformat(), **params}.items())
    return f"/book/{salon.org.slug}/{service}/?{query}"


def pick(client, salon, start, service="haircut", **fields):
    body = {"start": start.isoformat(), "location": str(salon.location.uuid), "staff": "any", "tz": NY, **fields}
    return client.post(f"/book/{salon.org.slug}/{service}/", body)


def details(**changes) -> dict:
    return {"name": "Jane Doe", "email": "jane@example.com", "phone": "+1 555 123 4567", "notes": "", **changes}


def book(client, salon, start, service="haircut", **fields):
    held = pick(client, salon, start, service, **fields)
    assert held.status_code == 302, text(held)
    return client.post(held["Location"], details())


def test_index_lists_the_booking_pages_and_find_my_booking(client, salon):
    make_org(name="Empty Org")  # nothing to book: not listed
    page = text(client.get("/"))
    assert 'href="/book/kind-salon/"' in page and "Kind Salon" in page
    assert "Empty Org" not in page
    assert 'href="/manage-booking"' in page and "Find my booking" in page


def test_services_page_shows_duration_price_and_deposit(client, salon):
    page = text(client.get("/book/kind-salon/"))
    assert "Haircut" in page and "1 hour" in page and "$45.00" in page
    assert "Color" in page and "$20.00, paid online when booking" in page
    assert "Not bookable online right now." in page  # the deposit service, with Stripe not configured
    assert "Up to 3 places" in page


def test_unknown_organization_and_service_are_404_pages(client, salon):
    assert client.get("/book/nobody/").status_code == 404
    assert client.get("/book/kind-salon/nothing/").status_code == 404


def test_slots_page_marks_free_days_and_groups_the_day(client, salon):
    response = client.get(slots_url(salon))
    page = text(response)
    assert response.status_code == 200
    assert "Morning" in page and "Afternoon" in page and "Evening" not in page  # 09:00-17:00
    times = re.findall(r'<span class="slot-time">([0-9:]+)</span>', page)
    assert times[0] == "09:00" and times[-1] == "16:00"  # a 60-minute slot ends by 17:00
    assert 'aria-current="date"' in page and "free times" in page
    assert "Times are shown in America/New_York." in page
    assert 'value="any" selected' in page and ">Alex<" in page and ">Sam<" in page
    assert len(starts(response)) == 15


def test_slots_page_in_another_time_zone_names_it(client, salon):
    page = text(client.get(slots_url(salon, tz="Europe/Berlin")))
    assert "Times are shown in Europe/Berlin." in page
    times = re.findall(r'<span class="slot-time">([0-9:]+)</span>', page)
    assert times[0] == "15:00" and "09:00" not in times


def test_a_day_without_slots_offers_the_next_available(client, salon):
    for hour in range(9, 17):
        make_core_booking(salon.haircut, starts_at=salon.at(hour), staff=salon.alex)
        make_core_booking(salon.haircut, starts_at=salon.at(hour), staff=salon.sam)
    page = text(client.get(slots_url(salon)))
    assert "There are no free times on this day." in page
    next_day = salon.day + timedelta(days=1)
    assert f"date={next_day.isoformat()}" in page and "Next available:" in page


def test_class_slots_show_places_left(client, salon):
    make_core_booking(salon.yoga, starts_at=salon.at(9))
    page = text(client.get(slots_url(salon, "yoga")))
    assert "2 places left" in page and "3 places left" in page


def test_picking_a_slot_holds_it_for_this_browser(client, salon):
    response = pick(client, salon, salon.at(10))
    assert response.status_code == 302
    hold = Hold.objects.get()
    assert response["Location"] == f"/book/kind-salon/hold/{hold.uuid}/"
    assert (hold.starts_at, hold.status, hold.api_key) == (salon.at(10), "active", None)
    page = text(client.get(response["Location"]))
    local_expiry = timezone.localtime(hold.expires_at, timezone=__import__("zoneinfo").ZoneInfo(NY))
    assert f"Held for you until {local_expiry:%H:%M} (America/New_York)." in page
    for label in ("Name", "Email", "Phone (optional)", "Notes (optional)"):
        assert f">{label}</label>" in page


def test_another_browser_can_neither_see_nor_convert_the_hold(client, salon):
    held = pick(client, salon, salon.at(10))
    stranger = Client()
    assert stranger.get(held["Location"]).status_code == 302
    taken = stranger.post(held["Location"], details(email="mallory@example.com"))
    assert taken.status_code == 302 and taken["Location"] == "/book/kind-salon/"
    assert Booking.objects.count() == 0 and Hold.objects.get().status == "active"


def test_picking_again_releases_the_previous_hold(client, salon):
    pick(client, salon, salon.at(10))
    pick(client, salon, salon.at(11))
    assert dict(Hold.objects.values_list("starts_at", "status")) == {salon.at(10): "released", salon.at(11): "active"}


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"name": ""}, "name", "This field is required."),
        ({"email": "not-an-email"}, "email", "Enter a valid email address."),
        ({"phone": "call me"}, "phone", "Enter a phone number with at least 4 digits"),
        ({"notes": "x" * 1001}, "notes", "Ensure this value has at most 1000 characters"),
    ],
)
def test_contact_form_errors_are_shown_next_to_their_field(client, salon, changes, field, message):
    held = pick(client, salon, salon.at(10))
    response = client.post(held["Location"], details(**changes))
    assert response.status_code == 400
    page = text(response)
    assert re.search(rf'id="id_{field}_error_1">{re.escape(message)}', page), page
    assert 'aria-invalid="true"' in page
    assert Booking.objects.count() == 0


def test_a_required_question_of_the_service_is_asked_and_checked(client, salon):
    salon.haircut.custom_fields = [{"key": "hair_length", "type": "string", "required": True}]
    salon.haircut.save()
    held = pick(client, salon, salon.at(10))
    assert ">Hair length</label>" in text(client.get(held["Location"]))
    response = client.post(held["Location"], details())
    assert response.status_code == 400 and 'id="id_q_hair_length_error_1"' in text(response)
    booked = client.post(held["Location"], details(q_hair_length="long"))
    assert booked.status_code == 302
    assert Booking.objects.get().custom_field_values == [{"key": "hair_length", "value": "long"}]


def test_confirming_books_the_hold_and_shows_the_confirmation(client, salon, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = book(client, salon, salon.at(10))
    booking = Booking.objects.get()
    assert response["Location"] == f"/book/kind-salon/booked/{booking.public_id}/"
    assert (booking.status, booking.source, booking.timezone, booking.contact_email) == (
        "confirmed",
        "booking_page",
        NY,
        "jane@example.com",
    )
    assert Hold.objects.get().status == "converted"
    page = text(client.get(response["Location"]))
    assert "Booking confirmed" in page and booking.confirmation_number in page
    assert "10:00–11:00" in page and "(America/New_York)" in page
    assert "/invite.ics?token=" in page
    assert "https://calendar.google.com/calendar/render?action=TEMPLATE" in page
    assert "https://outlook.live.com/calendar/0/action/compose?" in page
    manage = re.search(r'href="(/manage-booking\?[^"]+)"', page).group(1)
    assert "token=" in manage and client.get(manage).status_code == 200
    ics = re.search(r'href="(/api/calendar/v1/public/bookings/[^"]+invite\.ics\?token=[^"]+)"', page).group(1)
    assert client.get(ics)["Content-Type"].startswith("text/calendar")
    (email,) = mail.outbox
    assert booking.confirmation_number in email.subject and "/manage-booking?confirmation=" in email.body


def test_the_booking_keeps_the_zone_it_was_booked_in(client, salon):
    book(client, salon, salon.at(10), tz="Europe/Berlin")
    booking = Booking.objects.get()
    assert booking.timezone == "Europe/Berlin"
    page = text(client.get(f"/book/kind-salon/booked/{booking.public_id}/"))
    assert "16:00–17:00" in page and "(Europe/Berlin)" in page


def test_the_confirmation_page_is_only_for_the_browser_that_booked(client, salon):
    book(client, salon, salon.at(10))
    booking = Booking.objects.get()
    response = Client().get(f"/book/kind-salon/booked/{booking.public_id}/")
    assert response.status_code == 302 and response["Location"] == "/manage-booking"


def test_a_class_seat_is_booked_with_its_places(client, salon):
    response = book(client, salon, salon.at(9), "yoga", seats=2)
    assert response.status_code == 302, text(response)
    session = Booking.objects.get()
    assert (session.is_group, session.party_size) == (True, 2)
    page = text(client.get(response["Location"]))
    assert "Places" in page and "participant=" in page  # the booker's own invite


def test_a_slot_taken_before_the_pick_shows_fresh_times_on_the_same_page(client, salon):
    salon.haircut.staff.set([salon.alex])
    make_core_booking(salon.haircut, starts_at=salon.at(10), staff=salon.alex)
    response = pick(client, salon, salon.at(10), date=salon.day.isoformat())
    assert response.status_code == 409
    page = text(response)
    assert "Sorry, that time was just taken. Here are the times still free." in page
    assert salon.at(11).isoformat() in starts(response) and salon.at(10).isoformat() not in starts(response)


def test_a_slot_taken_after_the_hold_expired_shows_alternatives_and_keeps_the_details(client, salon):
    salon.haircut.staff.set([salon.alex])
    held = pick(client, salon, salon.at(10))
    Hold.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    make_core_booking(salon.haircut, starts_at=salon.at(10), staff=salon.alex)  # someone else took it
    response = client.post(held["Location"], details())
    assert response.status_code == 409
    page = text(response)
    assert "Sorry, this time is no longer available." in page and "Times still free" in page
    assert salon.at(11).isoformat() in starts(response)
    assert 'value="Jane Doe"' in page  # what was typed is kept
    again = pick(client, salon, salon.at(11))
    assert 'value="jane@example.com"' in text(client.get(again["Location"]))


def test_an_expired_hold_whose_slot_is_still_free_is_booked_anyway(client, salon):
    held = pick(client, salon, salon.at(10))
    Hold.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert "Your hold on this time has expired." in text(client.get(held["Location"]))
    response = client.post(held["Location"], details())
    assert response.status_code == 302
    assert Booking.objects.get().starts_at == salon.at(10)


def test_a_second_confirm_shows_the_booking_already_made(client, salon):
    held = pick(client, salon, salon.at(10))
    first = client.post(held["Location"], details())
    second = client.post(held["Location"], details())
    assert second["Location"] == first["Location"] and Booking.objects.count() == 1


def test_another_visitors_hold_blocks_the_slot(client, salon):
    salon.haircut.staff.set([salon.alex])
    make_hold(
        salon.haircut, salon.location, salon.at(10), staff=salon.alex, expires_at=timezone.now() + timedelta(minutes=5)
    )
    assert salon.at(10).isoformat() not in starts(client.get(slots_url(salon)))
    assert pick(client, salon, salon.at(10)).status_code == 409


def test_every_post_needs_the_csrf_token(salon):
    strict = Client(enforce_csrf_checks=True)
    body = {"start": salon.at(10).isoformat(), "location": str(salon.location.uuid), "staff": "any", "tz": NY}
    assert strict.post("/book/kind-salon/haircut/", body).status_code == 403
    assert strict.post("/manage-booking", {"confirmation": "X", "contact": "y"}).status_code == 403
    assert strict.post("/manage-booking/cancel", {}).status_code == 403
    assert strict.post("/manage-booking/reschedule", {}).status_code == 403
    assert Hold.objects.count() == 0


@pytest.mark.parametrize("start", ["", "tomorrow", "2026-01-01T10:00:00", "9999-12-31T23:59:59+00:00"])
def test_a_bad_slot_value_is_a_message_not_a_crash(client, salon, start):
    response = client.post(
        "/book/kind-salon/haircut/", {"start": start, "location": str(salon.location.uuid), "staff": "any"}
    )
    assert response.status_code == 400 and "Pick one of the times shown." in text(response)


def test_a_time_outside_the_hours_is_refused_with_fresh_times(client, salon):
    response = pick(client, salon, salon.at(3))
    assert response.status_code == 422 and "Here are the times still free." in text(response)


def test_holds_from_one_address_are_rate_limited(client, salon, settings):
    settings.PAGE_HOLD_RATE_LIMIT = "2/m"
    assert pick(client, salon, salon.at(10)).status_code == 302
    assert pick(client, salon, salon.at(11)).status_code == 302
    limited = pick(client, salon, salon.at(12))
    assert limited.status_code == 429 and "Too many attempts from your connection." in text(limited)


def test_a_deposit_service_goes_to_stripe_checkout_then_to_the_result_pages(
    client, salon, stripe_api, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = book(client, salon, salon.at(9), "color")
    booking = Booking.objects.get()
    assert (booking.status, booking.payment_status) == ("pending", "required")
    assert response.status_code == 302 and response["Location"] == booking.payment_redirect_url
    assert mail.outbox == []  # mailed once paid
    session = stripe_api.sessions[booking.stripe_checkout_session_id]
    assert session["success_url"].startswith("http://127.0.0.1:8000/payments/success?session_id=")
    waiting = client.get(f"/payments/success?session_id={session['id']}")
    assert "confirming your payment" in text(waiting) and '<meta http-equiv="refresh"' in text(waiting)
    Booking.objects.filter(pk=booking.pk).update(status="confirmed", payment_status="paid")
    paid = text(client.get(f"/payments/success?session_id={session['id']}"))
    assert "Deposit paid: booking confirmed" in paid and booking.confirmation_number in paid
    assert "refresh" not in paid
    # The session id is the payer's credential; another one shows nothing of the booking.
    assert booking.confirmation_number not in text(Client().get("/payments/success?session_id=cs_test_other"))


def test_leaving_checkout_offers_to_pay_again(client, salon, stripe_api):
    book(client, salon, salon.at(9), "color")
    booking = Booking.objects.get()
    page = text(client.get(f"/payments/cancelled?booking={booking.public_id}"))
    assert "The deposit was not paid" in page and booking.confirmation_number in page
    assert booking.payment_redirect_url in page
    assert "Pay the deposit now" not in text(Client().get(f"/payments/cancelled?booking={booking.public_id}"))


def test_result_pages_without_a_known_booking_still_answer(client, db):
    assert client.get("/payments/success?session_id=cs_nothing").status_code == 200
    assert client.get("/payments/success").status_code == 200
    assert client.get("/payments/cancelled?booking=%00").status_code == 200


def test_the_slots_page_reads_a_fixed_number_of_queries(client, salon, django_assert_max_num_queries):
    client.get("/")  # the session's first read
    with django_assert_max_num_queries(8):
        assert client.get(slots_url(salon)).status_code == 200
    for hour in range(9, 17):  # a full day: "next available" looks ahead too
        make_core_booking(salon.haircut, starts_at=salon.at(hour), staff=salon.alex)
        make_core_booking(salon.haircut, starts_at=salon.at(hour), staff=salon.sam)
    with django_assert_max_num_queries(8):
        assert "Next available:" in text(client.get(slots_url(salon)))


def test_one_address_holds_at_most_three_slots_whatever_its_browsers(salon):
    """Dropping the cookie is a new browser, but not a new address: the fourth hold is refused."""
    starts_at = [salon.at(9), salon.at(10), salon.at(11), salon.at(12)]
    for start in starts_at[:3]:
        assert pick(Client(), salon, start).status_code == 302
    refused = pick(Client(), salon, starts_at[3])
    assert refused.status_code == 429
    assert "Too many attempts from your connection" in text(refused)
    assert Hold.objects.filter(status="active").count() == 3
    assert pick(Client(REMOTE_ADDR="198.51.100.9"), salon, starts_at[3]).status_code == 302
