"""The admin login is throttled: thirty wrong passwords in a row no longer all get checked."""

import re

import pytest
from django.contrib.auth import get_user_model

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/?next=/admin/"


@pytest.fixture
def merchant():
    return get_user_model().objects.create_user("merchant", "m@example.com", "right-password-123", is_staff=True)


def attempt(client, password, *, address="198.51.100.7", username="merchant"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)


def test_thirty_wrong_passwords_from_one_address_are_stopped_after_ten(client, merchant):
    statuses = [attempt(client, f"guess-{i}").status_code for i in range(30)]
    assert statuses == [200] * 10 + [429] * 20
    refused = attempt(client, "right-password-123")
    assert refused.status_code == 429, "once locked out, even the right password is not checked"
    assert re.search(r"Too many failed logins\. Please try again in \d+ minutes?\.", refused.content.decode())
    assert 1 <= int(refused["Retry-After"]) <= 900
    assert "_auth_user_id" not in client.session

    # The merchant, from their own address, still gets in (the 429s did not count against them).
    assert attempt(client, "right-password-123", address="203.0.113.5").status_code == 302
    assert client.session["_auth_user_id"] == str(merchant.pk)


def test_guessing_one_user_from_many_addresses_is_stopped_too(client, merchant, settings):
    statuses = [attempt(client, f"guess-{i}", address=f"192.0.2.{i}").status_code for i in range(25)]
    assert statuses == [200] * 20 + [429] * 5
    other = get_user_model().objects.create_user("other", "o@example.com", "other-password-123", is_staff=True)
    assert attempt(client, "other-password-123", username="other", address="192.0.2.200").status_code == 302
    assert client.session["_auth_user_id"] == str(other.pk)


def test_successful_logins_cost_nothing(client, merchant, settings):
    settings.ADMIN_LOGIN_ADDRESS_RATE_LIMIT = "2/15m"
    for _ in range(5):
        assert attempt(client, "right-password-123").status_code == 302
        client.logout()
    assert attempt(client, "wrong").status_code == 200
    assert attempt(client, "wrong").status_code == 200
    assert attempt(client, "wrong").status_code == 429


def test_the_login_page_itself_is_unchanged(client):
    assert client.get(LOGIN).status_code == 200
