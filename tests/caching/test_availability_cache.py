"""The public availability cache: a repeated question is answered without the engine, and every
write that can change a slot makes the next answer fresh (bookings/caching/availability.py)."""

from datetime import UTC, datetime, time, timedelta

import pytest
from django.core.cache import cache
from django.db import transaction

from bookings.availability import Slot
from bookings.caching.availability import _version_key, availability_cached
from bookings.models import BookingStatus
from bookings.services.actors import SYSTEM
from bookings.services.bookings import participant_join
from bookings.services.holds import hold_place, hold_release
from bookings.services.status import booking_cancel
from organizations import versioned_cache
from organizations.models import ApiKey, DateOverride, Service, TimeOff, WorkingHours
from organizations.versioned_cache import versioned_get
from tests.factories import (
    future_day,
    local_dt,
    make_core_booking,
    make_customer,
    make_key,
    make_location,
    make_org,
    make_service,
    make_staff,
)

pytestmark = pytest.mark.django_db
URL = "/api/calendar/v1/public/availability"
NY = "America/New_York"


@pytest.fixture
def salon():
    """One location, one staff member, 09:00-17:00 every day, a 60-minute service; 13:00 is booked
    (so that a change of who serves the service shows: without staff the location serves it)."""
    org = make_org()
    location = make_location(org)
    staff = make_staff(org)
    service = make_service(org, locations=[location], staff=[staff])
    _, secret = make_key(org, kind=ApiKey.Kind.PUBLIC)
    day = future_day(weekday=2)
    make_core_booking(service, starts_at=local_dt(NY, day, 13), staff=staff)
    return {"org": org, "location": location, "staff": staff, "service": service, "secret": secret, "day": day}


def starts(api_client, salon, service=None) -> list[str]:
    day = salon["day"]
    response = api_client.get(
        URL,
        {
            "org_slug": salon["org"].slug,
            "service_slug": (service or salon["service"]).slug,
            "from": f"{day}T00:00:00Z",
            "to": f"{day + timedelta(days=1)}T00:00:00Z",
        },
        HTTP_X_KORDLESS_KEY=salon["secret"],
    )
    assert response.status_code == 200, response.content
    return [slot["startsAt"] for slot in response.json()["slots"]]


def at(salon, hour: int) -> datetime:
    return local_dt(NY, salon["day"], hour)


def utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def test_a_repeated_question_is_answered_from_the_cache(api_client, salon, django_assert_max_num_queries):
    first = starts(api_client, salon)
    assert len(first) == 7  # 09:00 .. 16:00 but 13:00
    with django_assert_max_num_queries(1):  # the key itself; the service and the slots are cached
        again = starts(api_client, salon)
    assert again == first


def test_turned_off_every_answer_is_computed(api_client, salon, settings, django_assert_num_queries):
    settings.AVAILABILITY_CACHE_SECONDS = 0
    settings.CATALOG_CACHE_SECONDS = 0
    starts(api_client, salon)
    with django_assert_num_queries(4):  # the key, the service, its locations, the engine's one statement
        starts(api_client, salon)


def _book_ten(salon):
    make_core_booking(salon["service"], starts_at=at(salon, 10), staff=salon["staff"])


def _hold_ten(salon):
    hold_place(service=salon["service"], location=salon["location"], starts_at=at(salon, 10), staff=salon["staff"])


def _time_off_ten(salon):
    TimeOff.objects.create(
        organization=salon["org"], staff=salon["staff"], starts_at=at(salon, 10), ends_at=at(salon, 11)
    )


def _override_closes_day(salon):
    DateOverride.objects.create(organization=salon["org"], location=salon["location"], date=salon["day"])


def _hours_shortened(salon):
    WorkingHours.objects.filter(staff=salon["staff"], weekday=salon["day"].weekday()).get().delete()
    WorkingHours.objects.create(
        organization=salon["org"],
        staff=salon["staff"],
        weekday=salon["day"].weekday(),
        start_time=time(9),
        end_time=time(12),
    )


def _staff_deactivated(salon):
    salon["staff"].active = False
    salon["staff"].save()


def _staff_removed_from_service(salon):
    salon["service"].staff.remove(salon["staff"])


def _staff_removed_by_reverse_relation(salon):
    salon["staff"].services.clear()


def _service_longer(salon):
    salon["service"].duration_minutes = 120
    salon["service"].save()


def _location_removed_from_service(salon):
    salon["service"].locations.remove(salon["location"])


def _location_moves_time_zone(salon):
    salon["location"].timezone = "Europe/Berlin"
    salon["location"].save()


def _organization_policy_changes(salon):
    salon["org"].timezone = "Asia/Tokyo"  # the location follows its organization's zone
    salon["org"].save()


def _advance_limit_shortened(salon):
    salon["org"].max_advance_days = 1
    salon["org"].save()


@pytest.mark.parametrize(
    "write",
    [
        _book_ten,
        _hold_ten,
        _time_off_ten,
        _override_closes_day,
        _hours_shortened,
        _staff_deactivated,
        _staff_removed_from_service,
        _staff_removed_by_reverse_relation,
        _service_longer,
        _location_removed_from_service,
        _location_moves_time_zone,
        _organization_policy_changes,
        _advance_limit_shortened,
    ],
)
def test_every_write_the_engine_reads_makes_the_next_answer_fresh(api_client, salon, write):
    before = starts(api_client, salon)
    write(salon)
    after = starts(api_client, salon)
    assert after != before
    cache_off = starts_computed(api_client, salon)
    assert after == cache_off


def starts_computed(api_client, salon) -> list[str]:
    cache.clear()
    return starts(api_client, salon)


def test_a_cancelled_booking_and_a_released_hold_free_their_slots_at_once(api_client, salon):
    booking = make_core_booking(salon["service"], starts_at=at(salon, 10), staff=salon["staff"])
    hold = hold_place(
        service=salon["service"], location=salon["location"], starts_at=at(salon, 12), staff=salon["staff"]
    )
    taken = starts(api_client, salon)
    assert utc_text(at(salon, 10)) not in taken and utc_text(at(salon, 12)) not in taken

    booking_cancel(booking=booking, actor=SYSTEM)
    assert utc_text(at(salon, 10)) in starts(api_client, salon)
    hold_release(hold=hold, actor=SYSTEM)
    assert utc_text(at(salon, 12)) in starts(api_client, salon)


def test_a_joiner_takes_seats_of_a_class_at_once(api_client, salon):
    yoga = make_service(
        salon["org"], locations=[salon["location"]], staff=[salon["staff"]], kind=Service.Kind.GROUP, capacity_max=3
    )
    session = make_core_booking(yoga, starts_at=at(salon, 10), staff=salon["staff"], status=BookingStatus.CONFIRMED)

    def seats_at_ten() -> int:
        day = salon["day"]
        response = api_client.get(
            URL,
            {"org_slug": salon["org"].slug, "service_slug": yoga.slug, "from": utc_text(at(salon, 10)), "to": f"{day}T23:00:00Z"},
            HTTP_X_KORDLESS_KEY=salon["secret"],
        )  # fmt: skip
        return response.json()["slots"][0]["capacity"]

    left = seats_at_ten()
    participant_join(booking=session, customer=make_customer(salon["org"]), actor=SYSTEM)
    assert seats_at_ten() == left - 1


def test_the_version_is_replaced_for_the_writers_own_reads_and_again_after_commit(
    salon, django_capture_on_commit_callbacks
):
    """Others keep the state before a write until it commits; the writing transaction's own read
    replaces the version first (a reader may cache uncommitted state under it: the commit abandons it)."""
    version_key = _version_key(salon["org"].pk)
    before = versioned_get(version_key, "probe")[0]
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            _time_off_ten(salon)
            assert cache.get(version_key) == before  # no round trip for it yet
            during = versioned_get(version_key, "probe")[0]
            assert during != before
            assert versioned_get(version_key, "probe")[0] == during  # once
    assert cache.get(version_key) not in (before, during)


def test_a_transaction_of_many_writes_replaces_the_version_once_at_commit(salon, django_capture_on_commit_callbacks):
    version_key = _version_key(salon["org"].pk)
    before = versioned_get(version_key, "probe")[0]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        with transaction.atomic():
            for _ in range(20):
                _time_off_ten(salon)
            during = versioned_get(version_key, "probe")[0]  # read: replaced at once
            _time_off_ten(salon)  # written after that read: due again
            with transaction.atomic():
                _time_off_ten(salon)  # inside a savepoint: its own
                transaction.set_rollback(True)
    assert _replacements(callbacks) == 2 and during != before
    assert cache.get(version_key) == during  # nothing more before the commit
    for callback in callbacks:
        callback()
    assert cache.get(version_key) not in (before, during)


def _replacements(callbacks) -> int:
    return sum(isinstance(callback, versioned_cache._AtCommit) for callback in callbacks)


def test_writes_in_savepoints_share_one_replacement_that_rolls_back_only_with_them(
    salon, django_capture_on_commit_callbacks
):
    version_key = _version_key(salon["org"].pk)
    versioned_get(version_key, "probe")  # what the fixture's writes left due: made now
    with django_capture_on_commit_callbacks(execute=False) as kept:
        with transaction.atomic():
            with transaction.atomic():
                _time_off_ten(salon)  # its savepoint released: only the whole transaction can drop it now
            with transaction.atomic():
                _time_off_ten(salon)  # shares it
                transaction.set_rollback(True)
    assert _replacements(kept) == 1
    versioned_get(version_key, "probe")
    with django_capture_on_commit_callbacks(execute=False) as dropped:
        with transaction.atomic():
            with transaction.atomic():
                _time_off_ten(salon)
                with transaction.atomic():
                    _time_off_ten(salon)  # shares the outer savepoint's
                transaction.set_rollback(True)  # both writes undone, their replacement with them
    assert _replacements(dropped) == 0


def test_a_write_rolled_back_replaces_nothing_it_had_not_read(salon, django_capture_on_commit_callbacks):
    version_key = _version_key(salon["org"].pk)
    before = versioned_get(version_key, "probe")[0]
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            _time_off_ten(salon)
            transaction.set_rollback(True)
    assert versioned_get(version_key, "probe")[0] == before


def _slot(starts_at: datetime) -> Slot:
    return Slot(
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=1),
        location_id=1,
        staff_ids=(1,),
        capacity=None,
        location_uuid=None,
        staff_uuids=(),
    )


def test_an_answer_is_never_kept_once_its_first_slot_is_inside_the_minimum_notice(salon):
    org = salon["org"]
    org.min_notice_minutes = 60
    calls = []

    def compute_first_slot_in(seconds: float):
        def compute():
            calls.append(1)
            return {"n": len(calls)}, [_slot(datetime.now(UTC) + timedelta(minutes=60, seconds=seconds))]

        return compute

    # Its first slot becomes too soon within a second: not kept at all.
    availability_cached(org, ("soon",), compute_first_slot_in(0.5))
    availability_cached(org, ("soon",), compute_first_slot_in(0.5))
    assert len(calls) == 2
    # Far from the notice boundary: kept.
    availability_cached(org, ("later",), compute_first_slot_in(3600))
    assert availability_cached(org, ("later",), compute_first_slot_in(3600)) == {"n": 3}
    assert len(calls) == 3


def test_a_cache_outage_costs_speed_not_answers(api_client, salon, monkeypatch):
    expected = starts(api_client, salon)

    def unreachable(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(cache, "get", unreachable)
    assert starts(api_client, salon) == expected


def _service_deactivated(salon):
    salon["service"].active = False
    salon["service"].save()


def _service_renamed(salon):
    salon["service"].slug = "renamed"
    salon["service"].save()


def _organization_renamed(salon):
    salon["org"].slug = "renamed-org"
    salon["org"].save()


def _key_loses_the_organization(salon):
    key = ApiKey.objects.get(organizations=salon["org"])
    key.organizations.remove(salon["org"])


def day_query(salon, **extra) -> dict:
    """The availability query for the salon's day, 00:00-23:00 UTC."""
    day = salon["day"]
    query = {"org_slug": salon["org"].slug, "service_slug": salon["service"].slug}
    return {**query, "from": f"{day}T00:00:00Z", "to": f"{day}T23:00:00Z", **extra}


@pytest.mark.parametrize(
    ("write", "status", "detail"),
    [
        (_service_deactivated, 404, "Service not found"),
        (_service_renamed, 404, "Service not found"),
        (_organization_renamed, 404, "Organization not found"),
        (_key_loses_the_organization, 404, "Organization not found"),
    ],
)
def test_the_cached_service_of_a_key_follows_catalog_changes_at_once(api_client, salon, write, status, detail):
    params = day_query(salon)
    assert api_client.get(URL, params, HTTP_X_KORDLESS_KEY=salon["secret"]).status_code == 200
    write(salon)
    response = api_client.get(URL, params, HTTP_X_KORDLESS_KEY=salon["secret"])
    assert response.status_code == status
    assert response.json()["detail"].startswith(detail)


def test_a_cached_host_follows_its_deletion_at_once(api_client, salon):
    extra = make_staff(salon["org"])
    salon["service"].staff.add(extra)
    params = day_query(salon, host_id=str(extra.uuid))
    assert api_client.get(URL, params, HTTP_X_KORDLESS_KEY=salon["secret"]).status_code == 200
    extra.delete()
    response = api_client.get(URL, params, HTTP_X_KORDLESS_KEY=salon["secret"])
    assert response.status_code == 404
    assert response.json()["detail"] == "Staff member not found"
