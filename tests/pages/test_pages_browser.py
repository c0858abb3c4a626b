"""The customer pages in a real browser (Debian's Chromium through Playwright) against a live server, at
1280 px and at 375 px: book a haircut, open the manage link from the email that was sent, reschedule,
cancel; book a class seat. Every page is checked with axe-core (no serious or critical violations; every
finding is written to `<artifacts>/axe-<viewport>.json`) and every step is a screenshot."""

import json
import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.core import mail
from playwright.sync_api import expect

from bookings.models import Booking
from tests.browser import axe_violations, screenshot
from tests.factories import future_day

pytestmark = pytest.mark.django_db(transaction=True)
ALL_IMPACTS = ("minor", "moderate", "serious", "critical")
VIEWPORTS = {"page": "1280", "phone_page": "375"}


class Steps:
    """Screenshots and axe findings, one per step, named `pages-<viewport>-<nn>-<step>`."""

    def __init__(self, page, artifacts, viewport: str, flow: str):
        self.page, self.artifacts, self.viewport, self.flow = page, artifacts, viewport, flow
        self.count = 0
        self.findings: dict[str, list[dict]] = {}

    def check(self, name: str) -> None:
        self.count += 1
        label = f"pages-{self.viewport}-{self.flow}-{self.count:02d}-{name}"
        screenshot(self.page, self.artifacts, label)
        found = axe_violations(self.page, impacts=ALL_IMPACTS)
        self.findings[label] = found
        self._save()
        serious = [v for v in found if v["impact"] in ("serious", "critical")]
        assert serious == [], f"{label}: {serious}"
        # Nothing is wider than the screen (no sideways scrolling on a phone).
        overflow = self.page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{label}: {overflow}px wider than the viewport"

    def _save(self) -> None:
        path = self.artifacts / f"axe-{self.viewport}.json"
        existing = json.loads(path.read_text()) if path.exists() else {}
        existing.update(self.findings)
        path.write_text(json.dumps(existing, indent=2, sort_keys=True))


def day_link_name(day) -> re.Pattern:
    return re.compile(rf"^{day:%a} {day.day} {day:%b} free times$")


@pytest.fixture(params=list(VIEWPORTS))
def browser_page(request):
    return request.param, request.getfixturevalue(request.param)


def test_book_a_haircut_then_reschedule_and_cancel_from_the_emailed_link(browser_page, live_server, demo, artifacts):
    fixture, page = browser_page
    steps = Steps(page, artifacts, VIEWPORTS[fixture], "haircut")
    day = future_day(weekday=2)

    page.goto(f"{live_server.url}/")
    expect(page.get_by_role("heading", name="Book online", level=1)).to_be_visible()
    steps.check("index")
    page.get_by_role("link", name="Acme Salon").click()

    expect(page.get_by_role("heading", name="Book with Acme Salon")).to_be_visible()
    steps.check("services")
    page.get_by_role("link", name="Choose a time for Haircut").click()

    page.get_by_role("link", name=day_link_name(day)).click()
    expect(
        page.get_by_role("heading", name=re.compile(f"^Free times on {day:%A}, {day:%B} {day.day}$"))
    ).to_be_visible()
    expect(page.get_by_role("group", name="Morning")).to_be_visible()
    steps.check("slots")
    page.get_by_role("button", name=re.compile(r"^10:00")).click()

    expect(page.get_by_text(re.compile(r"Held for you until \d\d:\d\d \(America/New_York\)"))).to_be_visible()
    page.get_by_role("button", name="Confirm booking").click()  # nothing filled in yet
    expect(page.get_by_text("This field is required.").first).to_be_visible()
    steps.check("details-errors")
    page.get_by_label("Name").fill("Jane Doe")
    page.get_by_label("Email").fill("jane.browser@example.com")
    page.get_by_label("Phone (optional)").fill("+1 555 010 2030")
    steps.check("details")
    page.get_by_role("button", name="Confirm booking").click()

    expect(page.get_by_role("heading", name="Booking confirmed")).to_be_visible()
    booking = Booking.objects.get(contact_email="jane.browser@example.com")
    expect(page.get_by_text(booking.confirmation_number)).to_be_visible()
    expect(page.get_by_role("link", name="Google Calendar")).to_be_visible()
    steps.check("confirmed")

    (email,) = [m for m in mail.outbox if "jane.browser@example.com" in m.to]
    link = re.search(r"(http\S+/manage-booking\?\S+)", email.body).group(1)
    parts = urlsplit(link)
    page.goto(f"{live_server.url}{parts.path}?{parts.query}")
    expect(page.get_by_role("heading", name="Your booking")).to_be_visible()
    expect(
        page.get_by_text("Free cancellation and rescheduling online until 2 hours before the start.")
    ).to_be_visible()
    steps.check("manage")

    page.get_by_role("link", name="Reschedule").click()
    expect(page.get_by_role("heading", name="Choose a new time")).to_be_visible()
    if not page.get_by_role("button", name=re.compile(r"^11:00")).count():
        page.get_by_role("link", name=day_link_name(day)).click()
    steps.check("reschedule")
    page.get_by_role("button", name=re.compile(r"^11:00")).click()
    expect(page.get_by_text("Your booking is moved.")).to_be_visible()
    expect(page.get_by_text("11:00–12:00")).to_be_visible()
    booking.refresh_from_db()
    assert (booking.starts_at.astimezone(booking.location.tz).hour, booking.sequence) == (11, 1)
    steps.check("rescheduled")

    page.get_by_role("link", name="Cancel booking").click()
    expect(page.get_by_role("heading", name="Cancel this booking?")).to_be_visible()
    page.get_by_label("Reason (optional)").fill("Plans changed")
    steps.check("cancel")
    page.get_by_role("button", name="Yes, cancel the booking").click()
    expect(page.get_by_text("Your booking is cancelled.")).to_be_visible()
    booking.refresh_from_db()
    assert (booking.status, booking.cancellation_reason) == ("cancelled", "Plans changed")
    steps.check("cancelled")

    page.get_by_role("link", name="Find my booking").first.click()
    page.get_by_label("Confirmation number").fill("BOOK_NOSUCHBOOKING")
    page.get_by_label("Email or phone").fill("jane.browser@example.com")
    page.get_by_role("button", name="Find booking").click()
    expect(page.get_by_role("alert")).to_contain_text("We could not find a booking")
    steps.check("lookup-not-found")


def test_book_a_class_seat(browser_page, live_server, demo, artifacts):
    fixture, page = browser_page
    steps = Steps(page, artifacts, VIEWPORTS[fixture], "class")
    day = future_day(weekday=3)
    page.goto(f"{live_server.url}/book/acme-salon/")
    page.get_by_role("link", name="Choose a time for Yoga Class").click()
    page.get_by_role("link", name=day_link_name(day)).click()
    expect(page.get_by_role("button", name=re.compile(r"^09:00 12 places left$"))).to_be_visible()
    steps.check("slots")
    page.get_by_role("button", name=re.compile(r"^09:00")).click()
    page.get_by_label("Name").fill("Sam Seat")
    page.get_by_label("Email").fill("sam.seat@example.com")
    steps.check("details")
    page.get_by_role("button", name="Confirm booking").click()
    # The demo class needs two places to go ahead: this one is booked, the class pending.
    expect(page.get_by_role("heading", name="Booking received")).to_be_visible()
    session = Booking.objects.get(service__slug="yoga-class")
    assert session.participants.get().customer.email == "sam.seat@example.com"
    steps.check("confirmed")
    page.get_by_role("link", name="View, cancel or reschedule this booking").click()
    expect(page.get_by_role("link", name="Cancel my place")).to_be_visible()
    steps.check("manage")


def test_the_pages_work_by_keyboard_with_a_visible_focus(page, live_server, demo, artifacts):
    page.goto(f"{live_server.url}/manage-booking")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Confirmation number")).to_be_focused()
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    page.keyboard.type("BOOK_NOSUCHBOOKING")
    page.keyboard.press("Tab")
    page.keyboard.type("jane@example.com")
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert")).to_contain_text("We could not find a booking")
    screenshot(page, artifacts, "pages-1280-keyboard-lookup")


def test_the_stylesheet_and_script_are_served_locally(page, live_server, demo):
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{live_server.url}/book/acme-salon/haircut/?date={(future_day() + timedelta(days=1)).isoformat()}")
    assert requested and all(url.startswith(live_server.url) for url in requested), requested
    assert any(url.endswith("/static/pages/pages.css") for url in requested)
