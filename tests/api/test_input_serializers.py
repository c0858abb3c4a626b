"""Serializers whose fields are shared by every request (bookings/api/input.py) answer each body on
its own: its values or its errors, whatever other bodies other threads validate at the same time."""

import threading

from bookings.api.public.serializers import PublicBookingCreateSerializer


def _body(n: int, *, valid: bool) -> dict:
    return {
        "org_slug": f"org-{n}",
        "service_slug": "cut",
        "starts_at": f"2030-01-{1 + n % 28:02d}T10:00:00Z",
        "ends_at": f"2030-01-{1 + n % 28:02d}T10:30:00Z" if valid else "not a time",
        "timezone": "Europe/Berlin" if valid else "Mars/Olympus",
        "contact": {"name": f"Client {n}", "email": f"c{n}@example.com" if valid else "nobody", "phone": None},
        "party_size": n % 3 + 1,
    }


def _outcome(body: dict) -> tuple:
    serializer = PublicBookingCreateSerializer(data=body)
    if serializer.is_valid():
        data = serializer.validated_data
        return ("ok", data["org_slug"], data["party_size"], data["contact"]["email"], data["contact"]["phone"])
    return ("errors", sorted(serializer.errors), sorted(serializer.errors.get("contact", {})))


def test_each_body_gets_its_own_values_or_errors_across_threads():
    expected = {n: _outcome(_body(n, valid=n % 2 == 0)) for n in range(40)}
    assert expected[0] == ("ok", "org-0", 1, "c0@example.com", "")
    assert expected[1] == ("errors", ["contact", "ends_at", "timezone"], ["email"])
    mismatches: list[int] = []

    def validate(offset: int) -> None:
        for round_ in range(25):
            n = (offset + round_) % 40
            if _outcome(_body(n, valid=n % 2 == 0)) != expected[n]:
                mismatches.append(n)

    threads = [threading.Thread(target=validate, args=(k * 5,)) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert mismatches == []


def test_a_missing_nested_body_and_an_empty_one_are_refused_as_before():
    assert PublicBookingCreateSerializer(data={}).is_valid() is False
    serializer = PublicBookingCreateSerializer(data={**_body(2, valid=True), "contact": {}})
    assert serializer.is_valid() is False
    assert sorted(serializer.errors["contact"]) == ["email", "name"]
