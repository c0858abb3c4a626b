"""Every ORM writer of every model a cache depends on replaces the right version, for its own
transaction's reads and again at commit (bookings/caching/invalidation.py): an instance's save() and delete(), QuerySet.update()
and delete(), bulk_create(), bulk_update(), and for the many-to-many tables their manager's writes
and the relation's add/remove/clear/set from either side.

The writer tests are parametrized over invalidation.SCHEDULE_MODELS and CATALOG_MODELS: a model
added there without a spec here fails, and so does a model the engine or the catalog reads that is
missing there.
"""

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps
from django.core.cache import cache
from django.db import connection
from django.db.models import Model
from django.test.utils import CaptureQueriesContext

from bookings.availability import find_slots, slot_check
from bookings.caching import invalidation
from bookings.caching.availability import _version_key
from bookings.caching.catalog import (
    VERSION_KEY,
    catalog_stats,
    organization_version_key,
    service_for_key_cached,
    staff_by_ref_cached,
    webhook_endpoints_exist_cached,
)
from bookings.models import Booking, BookingStatus, Participant, WebhookEndpoint
from holds.models import Hold
from organizations.errors import NotFound
from organizations.models import (
    ApiKey,
    DateOverride,
    Location,
    Organization,
    Service,
    StaffMember,
    Team,
    TimeOff,
    WorkingHours,
)
from organizations.versioned_cache import _AtCommit, versioned_get
from tests.factories import (
    future_day,
    local_dt,
    make_booking,
    make_customer,
    make_key,
    make_location,
    make_org,
    make_service,
    make_staff,
)

pytestmark = pytest.mark.django_db
NY = "America/New_York"
_n = itertools.count(1)
_FIRST = datetime(2030, 1, 7, tzinfo=UTC)


def _moment() -> datetime:
    """A start no other row of these tests uses: bookings never overlap (PostgreSQL refuses that)."""
    return _FIRST + timedelta(hours=2 * next(_n))


def _world() -> SimpleNamespace:
    """One organization with one of everything."""
    org = make_org()
    location = make_location(org, hours=None)
    staff = make_staff(org, hours=None)
    team = Team.objects.create(organization=org, name="Team")
    team.members.add(staff)
    service = make_service(org, locations=[location], staff=[staff])
    group = make_service(org, locations=[location], staff=[staff], kind=Service.Kind.GROUP)
    session = make_booking(group, location, _moment(), staff=staff, is_group=True)
    key, _ = make_key(org)
    return SimpleNamespace(
        org=org, location=location, staff=staff, team=team, service=service, group=group, session=session, key=key
    )


def _booking(w) -> Booking:
    starts_at, number = _moment(), f"BOOK_TEST{next(_n)}"
    return Booking(
        organization=w.org, service=w.service, location=w.location, staff=w.staff, starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=1), blocked_start=starts_at, blocked_end=starts_at + timedelta(hours=1),
        timezone=NY, public_id=number.lower(), confirmation_number=number,
    )  # fmt: skip


def _hold(w) -> Hold:
    starts_at = _moment()
    return Hold(
        organization=w.org, service=w.service, location=w.location, staff=w.staff, starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=1), blocked_start=starts_at, blocked_end=starts_at + timedelta(hours=1),
        expires_at=starts_at,
    )  # fmt: skip


@dataclass
class Spec:
    """How to write rows of one model for the organization of a world `w`."""

    build: Callable[[SimpleNamespace], Model]  # an unsaved row (that nothing will protect from deletion)
    change: dict  # a change save(), update() and bulk_update() write
    organization: Callable[[Any], int] = lambda row: row.organization_id  # a row of the spec's model

    def saved(self, w) -> Model:
        row = self.build(w)
        row.save()
        return row


def _rule(model, **fields):
    return lambda w: model(organization=w.org, staff=w.staff, **fields)


SPECS: dict[type[Model], Spec] = {
    Organization: Spec(
        lambda w: Organization(slug=f"new-org-{next(_n)}", name="New"), {"name": "Changed"}, lambda row: row.pk
    ),
    Location: Spec(lambda w: Location(organization=w.org, name="New"), {"name": "Changed"}),
    StaffMember: Spec(lambda w: StaffMember(organization=w.org, name="New"), {"name": "Changed"}),
    Team: Spec(lambda w: Team(organization=w.org, name="New"), {"name": "Changed"}),
    Service: Spec(
        lambda w: Service(organization=w.org, slug=f"new-{next(_n)}", name="New", duration_minutes=30),
        {"name": "Changed"},
    ),
    WorkingHours: Spec(_rule(WorkingHours, weekday=2, start_time=time(9), end_time=time(12)), {"end_time": time(18)}),
    DateOverride: Spec(_rule(DateOverride, date=date(2030, 1, 8)), {"reason": "Changed"}),
    TimeOff: Spec(_rule(TimeOff, starts_at=_FIRST, ends_at=_FIRST + timedelta(hours=1)), {"reason": "Changed"}),
    Booking: Spec(_booking, {"notes": "Changed"}),
    Participant: Spec(
        lambda w: Participant(booking=w.session, customer=make_customer(w.org)),
        {"note": "Changed"},
        lambda row: row.booking.organization_id,
    ),
    Hold: Spec(_hold, {"party_size": 2}),
    WebhookEndpoint: Spec(
        lambda w: WebhookEndpoint(organization=w.org, url="https://example.com/hook"), {"active": False}
    ),
}


@dataclass
class Link:
    """A many-to-many relation: its table's rows go from `source(w)` to targets `new_target(w)` makes."""

    source: Callable[[SimpleNamespace], Model]
    forward: str  # the relation's name on the source
    reverse: str  # and on the target
    new_target: Callable[[SimpleNamespace], Model]
    organization: Callable[[Any], int | None] = lambda row: None  # a row of the relation's table

    @staticmethod
    def names(through) -> tuple[str, str]:
        """The table's fields naming the source and the target, in that order."""
        source, target = (f.name for f in through._meta.fields if f.is_relation)
        return source, target


LINKS: dict[type[Model], Link] = {
    Service.locations.through: Link(
        lambda w: w.service, "locations", "services", lambda w: make_location(w.org, hours=None),
        lambda row: row.service.organization_id,
    ),
    Service.staff.through: Link(
        lambda w: w.service, "staff", "services", lambda w: make_staff(w.org, hours=None),
        lambda row: row.service.organization_id,
    ),
    Team.members.through: Link(
        lambda w: w.team, "members", "teams", lambda w: make_staff(w.org, hours=None),
        lambda row: row.team.organization_id,
    ),
    ApiKey.organizations.through: Link(
        lambda w: w.key, "organizations", "api_keys", lambda w: make_org(), lambda row: row.organization_id
    ),
}  # fmt: skip


# A writer prepares its rows for the world `w` and returns the write, which returns the rows it wrote.
Write = Callable[[], list[Model]]


def _change(model, row) -> Model:
    for name, value in SPECS[model].change.items():
        setattr(row, name, value)
    return row


def save_new(model, w) -> Write:
    row = SPECS[model].build(w)

    def write():
        row.save()
        return [row]

    return write


def save_changed(model, w) -> Write:
    row = SPECS[model].saved(w)

    def write():
        _change(model, row).save()
        return [row]

    return write


def delete(model, w) -> Write:
    row = SPECS[model].saved(w)

    def write():
        pk = row.pk
        row.delete()
        row.pk = pk  # which delete() cleared: the organization's own id
        return [row]

    return write


def update(model, w) -> Write:
    row = SPECS[model].saved(w)

    def write():
        assert model.objects.filter(pk=row.pk).update(**SPECS[model].change) == 1
        return [row]

    return write


def queryset_delete(model, w) -> Write:
    row = SPECS[model].saved(w)

    def write():
        model.objects.filter(pk=row.pk).delete()
        return [row]

    return write


def bulk_create(model, w) -> Write:
    row = SPECS[model].build(w)
    return lambda: model.objects.bulk_create([row])


def bulk_update(model, w) -> Write:
    row = SPECS[model].saved(w)

    def write():
        assert model.objects.bulk_update([_change(model, row)], list(SPECS[model].change)) == 1
        return [row]

    return write


MODEL_WRITERS = [save_new, save_changed, delete, update, queryset_delete, bulk_create, bulk_update]


def _link_fields(through, w) -> dict:
    """A row of the table, from the world's source to a new target, as field values."""
    link = LINKS[through]
    return dict(zip(link.names(through), (link.source(w), link.new_target(w)), strict=True))


def manager_create(through, w) -> Write:
    fields = _link_fields(through, w)
    return lambda: [through.objects.create(**fields)]


def manager_update(through, w) -> Write:
    row, target = through.objects.create(**_link_fields(through, w)), LINKS[through].new_target(w)
    target_name = LINKS[through].names(through)[1]

    def write():
        assert through.objects.filter(pk=row.pk).update(**{target_name: target}) == 1
        return [row]

    return write


def manager_delete(through, w) -> Write:
    row = through.objects.create(**_link_fields(through, w))

    def write():
        through.objects.filter(pk=row.pk).delete()
        return [row]

    return write


def manager_bulk_create(through, w) -> Write:
    row = through(**_link_fields(through, w))
    return lambda: through.objects.bulk_create([row])


def manager_bulk_update(through, w) -> Write:
    row, target = through.objects.create(**_link_fields(through, w)), LINKS[through].new_target(w)
    target_name = LINKS[through].names(through)[1]

    def write():
        setattr(row, target_name, target)
        assert through.objects.bulk_update([row], [target_name]) == 1
        return [row]

    return write


def _relation_writer(side: str, action: str):
    """add/remove/clear/set on the source's relation ("forward") or the target's ("reverse")."""

    def writer(through, w) -> Write:
        link = LINKS[through]
        row = through(**_link_fields(through, w))
        source, target = (getattr(row, name) for name in link.names(through))
        if action in ("remove", "clear"):
            getattr(source, link.forward).add(target)
        owner, other, name = (source, target, link.forward) if side == "forward" else (target, source, link.reverse)
        relation = getattr(owner, name)

        def write():
            if action == "add":
                relation.add(other)
            elif action == "remove":
                relation.remove(other)
            elif action == "clear":
                relation.clear()
            else:
                relation.set([other])
            return [row]

        return write

    writer.__name__ = f"{side}_{action}"
    return writer


THROUGH_WRITERS = [manager_create, manager_update, manager_delete, manager_bulk_create, manager_bulk_update] + [
    _relation_writer(side, action) for side in ("forward", "reverse") for action in ("add", "remove", "clear", "set")
]


def cases(models) -> list:
    return [
        pytest.param(model, writer, id=f"{model.__name__}-{writer.__name__}")
        for model in models
        for writer in (THROUGH_WRITERS if model._meta.auto_created else MODEL_WRITERS)
    ]


def organization_of(model, row) -> int | None:
    return (LINKS[model] if model in LINKS else SPECS[model]).organization(row)


@pytest.fixture
def worlds():
    return _world(), _world()


def _before(keys) -> dict[str, str | None]:
    """Set each version to "before", once every replacement the test's earlier writes (its fixtures',
    in the same transaction) left due has been made, as a read of it makes it: only the write under
    test may leave one due now. Returns every version's value then."""
    settled: dict[str, str | None] = {}
    for entry in connection.run_on_commit:  # (savepoint ids, callback, robust)
        callback = entry[1]
        if isinstance(callback, _AtCommit):
            versioned_get(next(iter(callback.version_keys)), "probe")
            settled.update((key, cache.get(key)) for key in callback.version_keys)
    for key in keys:
        cache.set(key, "before", timeout=None)
        settled[key] = "before"
    return settled


def assert_replaced(write: Write, keys_of: Callable[[list[Model]], set[str]], watched: set[str], capture) -> set[str]:
    """`write` replaces the versions `keys_of` its rows, and of the `watched` ones no other: when a
    read in its transaction asks for them, and again at commit. Returns those keys."""
    settled = _before(watched)
    with capture(execute=False) as callbacks:
        keys = keys_of(write())
        unread = {key: cache.get(key) for key in keys}
        during = {key: versioned_get(key, "probe")[0] for key in keys}
    assert keys
    for key in keys:
        expected = settled.get(key)  # "before"; a new organization's: its fixture's token, or never set
        assert unread[key] == expected, f"{key} replaced before the commit, with no read in the transaction"
        assert during[key] not in (None, "before", expected), f"{key} not replaced for a read after the write"
    for key in watched - keys:
        assert versioned_get(key, "probe")[0] == "before", f"{key} replaced by a write of another organization"
    for callback in callbacks:
        callback()
    for key in keys:
        assert cache.get(key) != during[key], f"{key} not replaced again at commit"
    return keys


def test_every_model_of_the_caches_has_writer_tests():
    assert set(SPECS) | set(LINKS) == set(invalidation.SCHEDULE_MODELS) | set(invalidation.CATALOG_MODELS)


@pytest.mark.parametrize(("model", "writer"), cases(invalidation.SCHEDULE_MODELS))
def test_every_writer_replaces_the_availability_version_of_its_organization(
    model, writer, worlds, django_capture_on_commit_callbacks
):
    mine, other = worlds
    keys = assert_replaced(
        writer(model, mine),
        lambda rows: {_version_key(organization_of(model, row)) for row in rows},
        {_version_key(mine.org.pk), _version_key(other.org.pk)},
        django_capture_on_commit_callbacks,
    )
    if model is not Organization:  # which writes (or creates) an organization of its own
        assert keys == {_version_key(mine.org.pk)}


# Writers that only add rows: a grant to a key (see invalidation.GRANT_MODELS) leaves the catalog alone.
INSERTING = {
    "manager_create",
    "manager_bulk_create",
    "forward_add",
    "reverse_add",
    "reverse_set",
}  # forward_set drops the key's own organization


def _grants(model, writer) -> bool:
    return model in invalidation.GRANT_MODELS and writer.__name__ in INSERTING


@pytest.mark.parametrize(
    ("model", "writer"), [case for case in cases(invalidation.CATALOG_MODELS) if not _grants(*case.values)]
)
def test_every_writer_replaces_the_catalog_version_of_its_organization(
    model, writer, worlds, django_capture_on_commit_callbacks
):
    """Only the writing organization's cached catalog is abandoned; a write of an organization row
    (its slug may change) abandons every organization's."""
    mine, other = worlds
    watched = {VERSION_KEY, organization_version_key(mine.org.pk), organization_version_key(other.org.pk)}
    if model is Organization:
        keys_of = lambda rows: {VERSION_KEY}  # noqa: E731
    elif model in invalidation.GRANT_MODELS:  # the organizations whose grant to the key the write took away
        keys_of = lambda rows: {organization_version_key(pk) for pk in granted_before - granted()}  # noqa: E731
    else:
        keys_of = lambda rows: {organization_version_key(organization_of(model, row)) for row in rows}  # noqa: E731
    write = writer(model, mine)

    def granted() -> set[int]:
        return set(
            ApiKey.organizations.through.objects.filter(apikey=mine.key).values_list("organization_id", flat=True)
        )

    granted_before = granted()
    keys = assert_replaced(write, keys_of, watched, django_capture_on_commit_callbacks)
    if model not in (Organization, *invalidation.GRANT_MODELS):  # a grant's rows name organizations of their own
        assert keys == {organization_version_key(mine.org.pk)}


@pytest.mark.parametrize(
    ("model", "writer"), [case for case in cases(invalidation.CATALOG_MODELS) if _grants(*case.values)]
)
def test_a_new_grant_to_a_key_leaves_the_catalog_alone(model, writer, worlds):
    write = writer(model, worlds[0])
    keys = [VERSION_KEY, organization_version_key(worlds[0].org.pk)]
    _before(keys)
    write()
    assert [versioned_get(key, "probe")[0] for key in keys] == ["before", "before"]


def _replaced_for(worlds, write) -> bool:
    """Whether `write()` replaces the availability versions of both worlds' organizations."""
    keys = [_version_key(w.org.pk) for w in worlds]
    _before(keys)
    write()
    return all(versioned_get(key, "probe")[0] != "before" for key in keys)


def test_an_update_over_two_organizations_replaces_both(worlds):
    orgs = [w.org for w in worlds]
    assert _replaced_for(worlds, lambda: Booking.objects.filter(organization__in=orgs).update(notes="Both"))


def test_writes_moving_rows_to_another_organization_replace_both(worlds):
    mine, other = worlds
    off = SPECS[TimeOff].saved(mine)
    assert _replaced_for(worlds, lambda: TimeOff.objects.filter(pk=off.pk).update(organization=other.org))
    off.refresh_from_db()
    off.organization = mine.org
    assert _replaced_for(worlds, lambda: TimeOff.objects.bulk_update([off], ["organization"]))
    joiner = SPECS[Participant].saved(mine)
    assert _replaced_for(worlds, lambda: Participant.objects.filter(pk=joiner.pk).update(booking=other.session))
    links = Service.staff.through.objects.filter(service=mine.service)
    assert _replaced_for(worlds, lambda: links.update(service=other.service))


def test_update_reads_the_organizations_only_while_the_cache_is_on(worlds, settings, django_assert_num_queries):
    booking = worlds[0].session
    with django_assert_num_queries(2):  # the organizations, the update
        Booking.objects.filter(pk=booking.pk).update(notes="On")
    settings.AVAILABILITY_CACHE_SECONDS = 0
    with django_assert_num_queries(1):
        Booking.objects.filter(pk=booking.pk).update(notes="Off")


def test_bulk_create_reads_nothing_more(worlds, django_assert_num_queries):
    with django_assert_num_queries(1):
        WorkingHours.objects.bulk_create([SPECS[WorkingHours].build(worlds[0])])


def _models_in(queries) -> set[type[Model]]:
    sql = " ".join(query["sql"] for query in queries.captured_queries)
    return {
        model
        for model in apps.get_models(include_auto_created=True)
        if re.search(rf"\b{re.escape(model._meta.db_table)}\b", sql)
    }


def test_the_engine_reads_only_models_that_invalidate(worlds):
    w = worlds[0]
    day = datetime(2031, 1, 8, tzinfo=UTC)
    now = day - timedelta(days=1)
    for owner in ("location", "staff"):
        WorkingHours.objects.create(
            organization=w.org,
            weekday=day.weekday(),
            start_time=time(8),
            end_time=time(20),
            **{owner: getattr(w, owner)},
        )
    with CaptureQueriesContext(connection) as queries:
        for service in (w.service, w.group):
            for who in ({}, {"staff": w.staff}, {"team": w.team}):
                slots = find_slots(service, day, day + timedelta(days=1), now=now, **who)
                assert slots
                slot_check(service, slots[0].starts_at, location=w.location, now=now, **who)
    read = _models_in(queries)
    assert {Participant, Hold, Team.members.through} <= read  # the reads were seen
    assert read <= set(invalidation.SCHEDULE_MODELS), read - set(invalidation.SCHEDULE_MODELS)


def test_the_catalog_keeps_only_models_that_invalidate(worlds):
    w = worlds[0]
    with CaptureQueriesContext(connection) as queries:
        service_for_key_cached(w.org.slug, w.service.slug, w.key)
        staff_by_ref_cached([w.org.pk], str(w.staff.uuid))
        webhook_endpoints_exist_cached(w.org.pk)
    read = _models_in(queries)
    assert {Service.locations.through, ApiKey.organizations.through, WebhookEndpoint} <= read
    assert read <= set(invalidation.CATALOG_MODELS), read - set(invalidation.CATALOG_MODELS)


def _lookups(w) -> None:
    service_for_key_cached(w.org.slug, w.service.slug, w.key)
    staff_by_ref_cached([w.org.pk], str(w.staff.uuid))


def test_one_organizations_catalog_write_leaves_the_others_cached(worlds, django_assert_num_queries):
    mine, other = worlds
    _lookups(mine)
    with django_assert_num_queries(0):
        _lookups(mine)  # cached
    other.staff.name = "Renamed"
    other.staff.save()
    Service.objects.filter(pk=other.service.pk).update(name="Renamed")
    with django_assert_num_queries(0):
        _lookups(mine)  # still cached: another organization's writes
    mine.staff.name = "Renamed"
    mine.staff.save()
    with django_assert_num_queries(3):  # the service (with its locations) and the staff member, fresh
        _lookups(mine)
    assert staff_by_ref_cached([mine.org.pk], str(mine.staff.uuid)).name == "Renamed"


def test_an_organizations_new_slug_is_followed_at_once(worlds):
    mine, _ = worlds
    old_slug = mine.org.slug
    assert service_for_key_cached(old_slug, mine.service.slug, mine.key).pk == mine.service.pk
    mine.org.slug = "renamed-salon"
    mine.org.save()
    with pytest.raises(NotFound):
        service_for_key_cached(old_slug, mine.service.slug, mine.key)
    assert service_for_key_cached("renamed-salon", mine.service.slug, mine.key).pk == mine.service.pk


def test_the_catalog_counts_hits_and_misses_when_asked(worlds, settings):
    settings.CATALOG_CACHE_STATS = True
    before = catalog_stats()
    _lookups(worlds[0])
    _lookups(worlds[0])
    after = catalog_stats()
    assert (after["misses"] - before["misses"], after["hits"] - before["hits"]) == (2, 2)


# A cached public answer follows bulk writes at once.

URL = "/api/calendar/v1/public/availability"


@pytest.fixture
def salon():
    """A 60-minute service, its one staff member working 09:00-12:00 in a location open 09:00-17:00,
    booked at 10:00."""
    org = make_org()
    location = make_location(org)
    staff = make_staff(org, hours=(time(9), time(12)))
    service = make_service(org, locations=[location], staff=[staff])
    _, secret = make_key(org, kind=ApiKey.Kind.PUBLIC)
    day = future_day(weekday=2)
    booking = make_booking(service, location, local_dt(NY, day, 10), staff=staff)
    return SimpleNamespace(org=org, staff=staff, service=service, secret=secret, day=day, booking=booking)


def hours(api_client, salon) -> list[int]:
    """The local start hours of the salon's slots that day."""
    response = api_client.get(
        URL,
        {
            "org_slug": salon.org.slug,
            "service_slug": salon.service.slug,
            "from": f"{salon.day}T00:00:00Z",
            "to": f"{salon.day + timedelta(days=1)}T00:00:00Z",
        },
        HTTP_X_KORDLESS_KEY=salon.secret,
    )
    assert response.status_code == 200, response.content
    return [datetime.fromisoformat(slot["startsAt"]).astimezone(ZoneInfo(NY)).hour for slot in response.json()["slots"]]


def test_a_cached_answer_follows_an_update_at_once(api_client, salon):
    assert hours(api_client, salon) == [9, 11]
    assert hours(api_client, salon) == [9, 11]  # from the cache
    Booking.objects.filter(pk=salon.booking.pk).update(status=BookingStatus.CANCELLED)
    assert hours(api_client, salon) == [9, 10, 11]


def test_a_cached_answer_follows_a_bulk_create_at_once(api_client, salon):
    assert hours(api_client, salon) == [9, 11]
    WorkingHours.objects.bulk_create(
        [
            WorkingHours(
                organization=salon.org, staff=salon.staff, weekday=salon.day.weekday(), start_time=time(12),
                end_time=time(17),
            )
        ]
    )  # fmt: skip
    assert hours(api_client, salon) == [9, 11, 12, 13, 14, 15, 16]
