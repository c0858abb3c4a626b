"""PostgreSQL connections prepare a statement they run often (DB_PREPARE_THRESHOLD, config/settings.py)."""

import pytest
from django.db import connection

from organizations.models import Organization
from tests.factories import make_org

pytestmark = pytest.mark.django_db


def test_a_statement_run_repeatedly_is_prepared_once():
    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's")
    threshold = connection.settings_dict["OPTIONS"].get("prepare_threshold")
    if threshold is None:
        pytest.skip("DB_PREPARE_THRESHOLD=off")
    org = make_org()
    for _ in range(threshold + 1):
        assert Organization.objects.filter(slug=org.slug).get().pk == org.pk
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert any('FROM "organizations_organization"' in statement for statement in prepared), prepared
