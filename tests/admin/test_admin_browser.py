"""The merchant workspace in a real browser: a merchant logs in and reaches their bookings."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser import axe_violations, screenshot

pytestmark = pytest.mark.django_db(transaction=True)


def test_demo_merchant_logs_in_and_opens_the_bookings(page, live_server, demo, artifacts):
    page.goto(f"{live_server.url}/admin/")
    page.get_by_label("Username").fill(demo["admin"]["username"])
    page.get_by_label("Password").fill(demo["admin"]["password"])
    page.get_by_role("button", name="Log in").click()
    page.locator('a[href="/admin/bookings/booking/"]').first.click()
    expect(page).to_have_title(re.compile("^Select booking to change"))
    expect(page.get_by_role("heading", name="Select booking to change")).to_be_visible()
    screenshot(page, artifacts, "admin-bookings-list")
    assert [v for v in axe_violations(page, impacts=("critical",))] == []
