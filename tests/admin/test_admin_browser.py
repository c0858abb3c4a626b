"""The merchant workspace in a real browser (Debian's Chromium): a merchant logs in, opens the
calendar, opens a booking from it and cancels it with a reason; the customer is emailed. The
calendar (desktop and phone) and the reports are saved as screenshots in the test artifacts."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from playwright.sync_api import expect

from bookings.models import Booking, OutboundEmail
from bookings.services.actors import SYSTEM
from bookings.services.bookings import booking_create
from bookings.services.holds import hold_place
from organizations.models import Customer, Location, Service, StaffMember
from tests.browser import axe_violations, screenshot
from tests.factories import future_day, local_dt, make_booking

pytestmark = pytest.mark.django_db(transaction=True)

NY = "America/New_York"


def log_in(page, live_server, demo) -> None:
    page.goto(f"{live_server.url}/admin/")
    page.get_by_label("Username").fill(demo["admin"]["username"])
    page.get_by_label("Password").fill(demo["admin"]["password"])
    page.get_by_role("button", name="Log in").click()


def test_demo_merchant_logs_in_and_opens_the_bookings(page, live_server, demo, artifacts):
    log_in(page, live_server, demo)
    page.locator('a[href="/admin/bookings/booking/"]').first.click()
    expect(page).to_have_title(re.compile("^Select booking to change"))
    expect(page.get_by_role("heading", name="Select booking to change")).to_be_visible()
    screenshot(page, artifacts, "admin-bookings-list")
    assert [v for v in axe_violations(page, impacts=("critical",))] == []


def a_busy_day(demo):
    """A weekday the demo salon is open, with bookings of both staff, a class and a hold."""
    day = future_day(days_ahead=2, weekday=2)  # a Wednesday
    haircut, colour = Service.objects.get(slug="haircut"), Service.objects.get(slug="color-treatment")
    yoga = Service.objects.get(slug="yoga-class")
    location = Location.objects.get(pk=demo["location"]["id"])
    alex, sam = StaffMember.objects.get(name="Alex"), StaffMember.objects.get(name="Sam")
    jane, john = Customer.objects.get(email="jane@example.com"), Customer.objects.get(email="john@example.com")
    at = lambda hour, minute=0: local_dt(NY, day, hour, minute)  # noqa: E731
    booking = booking_create(
        service=haircut, location=location, starts_at=at(10), customer=jane, actor=SYSTEM, staff=alex
    )
    booking_create(service=haircut, location=location, starts_at=at(13), customer=john, actor=SYSTEM, staff=alex)
    booking_create(service=haircut, location=location, starts_at=at(9, 30), customer=john, actor=SYSTEM, staff=sam)
    colour.deposit_minor = 0  # no Stripe in this test
    colour.save(update_fields=["deposit_minor"])
    booking_create(service=colour, location=location, starts_at=at(14), customer=jane, actor=SYSTEM, staff=sam)
    pending = booking_create(
        service=haircut, location=location, starts_at=at(16), customer=john, actor=SYSTEM, staff=sam, status="pending"
    )
    assert pending.status == "pending"
    booking_create(service=yoga, location=location, starts_at=at(11), customer=john, actor=SYSTEM)
    hold_place(service=haircut, location=location, starts_at=at(12), staff=sam)
    # Earlier weeks, for the reports: visits that happened and a no-show (rows of the past, as data).
    for weeks_back, hour, status in ((1, 10, "completed"), (1, 11, "no_show"), (2, 10, "completed")):
        make_booking(haircut, location, at(hour) - timedelta(days=7 * weeks_back), staff=alex, status=status)
    return day, booking


def test_merchant_cancels_a_booking_from_the_calendar(page, phone_page, live_server, demo, artifacts):
    day, booking = a_busy_day(demo)
    log_in(page, live_server, demo)
    page.get_by_role("link", name="Calendar", exact=True).first.click()
    expect(page.get_by_role("heading", level=1, name="Calendar")).to_be_visible()
    page.get_by_label("Date").fill(f"{day:%Y-%m-%d}")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("heading", name=re.compile(f"{day:%A %d %B %Y}"))).to_be_visible()
    block = page.get_by_role("link", name=re.compile(r"10:00-11:00 Haircut · Jane Doe"))
    expect(block).to_be_visible()
    screenshot(page, artifacts, "admin-calendar-day")
    assert axe_violations(page) == []  # serious and critical

    # A free time of the calendar opens the booking form, filled in; a new customer is booked.
    page.get_by_role("link", name=re.compile(r"^11:00 Free with Alex")).click()
    expect(page.get_by_role("heading", name="Add booking")).to_be_visible()
    expect(page.get_by_label("Or type a time")).to_have_value("11:00")
    page.get_by_label("Or a new customer: first name").fill("Nora")
    page.get_by_label("Email").fill("nora@example.com")
    screenshot(page, artifacts, "admin-booking-add")
    page.get_by_role("button", name="Book").click()
    expect(page.get_by_text(re.compile(r"Booked Color Treatment, .* 11:00-12:30 America/New_York"))).to_be_visible()
    assert Booking.objects.get(contact_email="nora@example.com").staff.name == "Alex"
    page.goto(f"{live_server.url}/admin/calendar/?date={day:%Y-%m-%d}")

    page.get_by_label("View").select_option("week")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("heading", name=re.compile("^Week of"))).to_be_visible()
    screenshot(page, artifacts, "admin-calendar-week")
    assert axe_violations(page) == []
    page.get_by_label("View").select_option("day")
    page.get_by_role("button", name="Show").click()

    page.get_by_role("link", name=re.compile(r"10:00-11:00 Haircut · Jane Doe")).click()
    expect(page.get_by_role("heading", name=re.compile("Change booking"))).to_be_visible()
    expect(page.get_by_text(f"{day:%a %d %b %Y} 10:00 America/New_York").first).to_be_visible()
    page.get_by_role("link", name="Cancel booking").click()
    page.get_by_label("Reason").fill("Stylist is ill, sorry")
    page.get_by_role("button", name="Cancel the booking").click()
    expect(page.get_by_text(f"{booking.confirmation_number} is cancelled")).to_be_visible()
    screenshot(page, artifacts, "admin-booking-cancelled")

    booking.refresh_from_db()
    assert booking.status == "cancelled" and booking.cancelled_at is not None
    assert booking.cancellation_reason == "Stylist is ill, sorry"
    assert booking.events.filter(action="status_changed", actor=f"user:{demo['admin']['username']}").exists()
    # The customer's cancellation email: written with the cancellation, sent once it committed.
    assert OutboundEmail.objects.get(booking=booking, kind="cancellation").status == "sent"
    assert any(m.to == ["jane@example.com"] and "cancel" in m.subject.lower() for m in mail.outbox)

    page.goto(f"{live_server.url}/admin/reports/?weeks=3&from={day - timedelta(days=14):%Y-%m-%d}")
    expect(page.get_by_role("heading", level=3, name="Alex")).to_be_visible()
    screenshot(page, artifacts, "admin-reports")
    assert axe_violations(page) == []

    # Readable on a phone: the calendar becomes a list per staff member.
    log_in(phone_page, live_server, demo)
    phone_page.goto(f"{live_server.url}/admin/calendar/?date={day:%Y-%m-%d}")
    expect(phone_page.get_by_role("link", name=re.compile(r"13:00-14:00 Haircut"))).to_be_visible()
    screenshot(phone_page, artifacts, "admin-calendar-phone")
    assert Booking.objects.filter(status="cancelled").count() == 1
