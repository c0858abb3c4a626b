"""Turn the identifiers a request carries into rows of the caller's organization (else 404/400).

Contracts name things differently (slugs, UUIDs, integer ids); these helpers accept every form
an entity has and never reveal another tenant's rows: a key that does not belong to the
organization gets the same 404 as an unknown slug.
"""

import uuid
from datetime import datetime

from django.db.models import Exists, OuterRef

from bookings.models import Booking
from organizations.errors import InvalidInput, NotFound
from organizations.keys import key_organization_ids
from organizations.models import ApiKey, Location, Organization, Service, StaffMember, Team


def parse_aware_datetime(value: str | None, field: str) -> datetime:
    """ISO 8601 with an offset (`Z` or `+hh:mm`); anything else is a 400 naming the field."""
    if value is None or str(value).strip() == "":
        raise InvalidInput(f"{field} is required")
    text = str(value).strip()
    # An unencoded `+` in a query string arrives as a space: `...T14:00:00 00:00`.
    if len(text) > 19 and text[19] == " ":
        text = text[:19] + "+" + text[20:]
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InvalidInput(f"{field}: not an ISO 8601 date-time") from exc
    if parsed.tzinfo is None:
        raise InvalidInput(f"{field}: a UTC offset is required (e.g. 2025-12-03T14:00:00Z)")
    return parsed


def organization_for_key(slug: str, api_key: ApiKey) -> Organization:
    organization = Organization.objects.filter(slug=slug).first()
    if organization is None or organization.pk not in key_organization_ids(api_key):
        raise NotFound("Organization not found")
    return organization


def service_for_key(org_slug: str, service_slug: str, api_key: ApiKey) -> Service:
    """The active service `service_slug` of the organization `org_slug`, which `api_key` may act for,
    with its organization loaded; the same 404s as `organization_for_key` then `service_by_slug`.

    One query when both are found; the error paths ask again, step by step, to say which is missing.
    """
    key_orgs = ApiKey.organizations.through.objects.filter(
        apikey_id=api_key.pk, organization_id=OuterRef("organization_id")
    )
    found = (
        Service.objects.select_related("organization")
        .filter(Exists(key_orgs), organization__slug=org_slug, slug=service_slug, active=True)
        .order_by()[:1]  # at most one row: organization slugs and (organization, slug) are unique
    )
    service = next(iter(found), None)
    if service is None:
        service = service_by_slug(organization_for_key(org_slug, api_key), service_slug)
    return service


def _by_ref(queryset, ref, label: str):
    """A row by UUID or integer id within `queryset`; unknown or malformed: 404."""
    ref = str(ref).strip()
    lookup = None
    try:
        lookup = {"uuid": uuid.UUID(ref)}
    except ValueError:
        if ref.isdigit() and len(ref) < 19:
            lookup = {"pk": int(ref)}
    row = queryset.filter(**lookup).first() if lookup else None
    if row is None:
        raise NotFound(f"{label} not found")
    return row


def booking_by_ref(bookings, ref) -> Booking:
    """A booking of `bookings` by any of its ids: `book_...`, its confirmation number (the same,
    upper-cased), uuid or integer id; unknown or malformed (a NUL, say, which PostgreSQL refuses
    to compare): 404."""
    ref = str(ref).strip()
    if not ref.lower().startswith("book_"):
        return _by_ref(bookings, ref, "Booking")
    booking = None
    if len(ref) <= Booking._meta.get_field("public_id").max_length and ref.isprintable():
        booking = bookings.filter(public_id=ref.lower()).first()
    if booking is None:
        raise NotFound("Booking not found")
    return booking


def service_by_slug(organization: Organization, slug: str) -> Service:
    service = Service.objects.filter(organization=organization, slug=slug, active=True).first()
    if service is None:
        raise NotFound("Service not found")
    return service


def service_by_ref(organization_ids, ref) -> Service:
    return _by_ref(Service.objects.filter(organization_id__in=organization_ids), ref, "Service")


def location_by_ref(organization_ids, ref) -> Location:
    return _by_ref(
        Location.objects.select_related("organization").filter(organization_id__in=organization_ids), ref, "Location"
    )


def staff_by_ref(organization_ids, ref) -> StaffMember:
    return _by_ref(StaffMember.objects.filter(organization_id__in=organization_ids), ref, "Staff member")


def participant_by_ref(participants, ref, *, label: str = "Participant"):
    """A participant of `participants` by uuid or integer id; `label` names the 404 (an invite link
    answers "Booking not found", revealing nothing of who takes part)."""
    return _by_ref(participants, ref, label)


def team_by_ref(organization_ids, ref) -> Team:
    return _by_ref(Team.objects.filter(organization_id__in=organization_ids), ref, "Team")
