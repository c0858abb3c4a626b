"""API paths skip the session, user and message middleware (they authenticate by key); the pages and
the admin keep them."""

import pytest

from organizations.models import ApiKey
from tests.factories import make_key, make_org

pytestmark = pytest.mark.django_db


def test_an_api_request_opens_no_session(client):
    _, secret = make_key(make_org(), kind=ApiKey.Kind.PUBLIC)
    response = client.get("/api/calendar/v1/public/availability", HTTP_X_KORDLESS_KEY=secret)
    assert response.status_code == 400  # no service named: answered by the API all the same
    request = response.wsgi_request
    assert not hasattr(request, "session") and not hasattr(request, "_messages")
    assert "sessionid" not in response.cookies and "Cookie" not in response.get("Vary", "")


def test_the_admin_still_has_sessions_and_users(client, django_user_model):
    django_user_model.objects.create_superuser("root", "root@example.com", "pw-for-tests-only")
    assert client.login(username="root", password="pw-for-tests-only")
    response = client.get("/admin/")
    assert response.status_code == 200
    assert response.wsgi_request.user.is_superuser and hasattr(response.wsgi_request, "session")
