"""Tenant-first lookups: the identifiers a request carries, turned into rows of the caller's organizations.

Every surface asks these (the APIs with a key's organizations, the admin with a user's, the pages
with an organization's slug). Contracts name things differently (slugs, UUIDs, integer ids); these
accept every form an entity has and never reveal another tenant's rows: a row of an organization the
caller may not act for is the same 404 as a row that does not exist. Selectors read; they never write.
"""

import uuid
from collections.abc import Collection
from typing import Any, TypeVar

from django.db.models import Exists, Model, OuterRef, Prefetch, Q, QuerySet

from bookings.models import Booking, Participant
from holds.models import Hold
from organizations.compiled import CompiledQuery
from organizations.errors import NotFound
from organizations.keys import key_organization_ids
from organizations.models import ApiKey, Customer, Location, Organization, Service, StaffMember, Team

# What a contract calls a row: a UUID (as text or parsed), an integer id (as text or int), for a
# booking also its `book_...` id or confirmation number.
Ref = str | int | uuid.UUID
# The organizations a caller may act for (a key's set, a user's list, one organization's id).
OrganizationIds = Collection[int]

_M = TypeVar("_M", bound=Model)


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
    found = _SERVICE_FOR_KEY.fetch(api_key.pk, org_slug, service_slug)
    if not found:
        return service_by_slug(organization_for_key(org_slug, api_key), service_slug)
    return found[0]


def _service_for_key_query(api_key_id: int, org_slug: str, service_slug: str) -> QuerySet[Service]:
    key_orgs = ApiKey.organizations.through.objects.filter(
        apikey_id=api_key_id, organization_id=OuterRef("organization_id")
    )
    return (
        Service.objects.select_related("organization")
        .filter(Exists(key_orgs), organization__slug=org_slug, slug=service_slug, active=True)
        .order_by()[:1]  # at most one row: organization slugs and (organization, slug) are unique
    )


# Compiled once: every public request names its service, and building this read through the ORM
# cost more than running it (the catalog cache keeps its answer, unless it is off or cold).
_SERVICE_FOR_KEY: CompiledQuery[Service] = CompiledQuery(_service_for_key_query, -1, "<org>", "<service>")


def _by_ref(queryset: QuerySet[_M], ref: Ref, label: str) -> _M:
    """A row by UUID or integer id within `queryset`; unknown or malformed: 404."""
    ref = str(ref).strip()
    lookup: dict[str, Any] | None = None
    try:
        lookup = {"uuid": uuid.UUID(ref)}
    except ValueError:
        # ASCII digits only: str.isdigit() is true of "¹" and "①" too, which int() refuses.
        if ref.isascii() and ref.isdigit() and len(ref) < 19:
            lookup = {"pk": int(ref)}
    row = queryset.filter(**lookup).first() if lookup else None
    if row is None:
        raise NotFound(f"{label} not found")
    return row


def booking_by_ref(bookings: QuerySet[Booking], ref: Ref) -> Booking:
    """A booking of `bookings` by any of its ids: `book_...`, its confirmation number (the same,
    upper-cased), uuid or integer id; unknown or malformed (a NUL, say, which PostgreSQL refuses
    to compare): 404."""
    ref = str(ref).strip()
    if not ref.lower().startswith("book_"):
        return _by_ref(bookings, ref, "Booking")
    booking = None
    if len(ref) <= (Booking._meta.get_field("public_id").max_length or 0) and ref.isprintable():
        booking = bookings.filter(public_id=ref.lower()).first()
    if booking is None:
        raise NotFound("Booking not found")
    return booking


def service_by_slug(organization: Organization, slug: str) -> Service:
    service = Service.objects.filter(organization=organization, slug=slug, active=True).first()
    if service is None:
        raise NotFound("Service not found")
    return service


def service_by_ref(organization_ids: OrganizationIds, ref: Ref) -> Service:
    return _by_ref(Service.objects.filter(organization_id__in=organization_ids), ref, "Service")


def location_by_ref(organization_ids: OrganizationIds, ref: Ref) -> Location:
    return _by_ref(
        Location.objects.select_related("organization").filter(organization_id__in=organization_ids), ref, "Location"
    )


def staff_by_ref(organization_ids: OrganizationIds, ref: Ref) -> StaffMember:
    return _by_ref(StaffMember.objects.filter(organization_id__in=organization_ids), ref, "Staff member")


def participant_by_ref(participants: QuerySet[Participant], ref: Ref, *, label: str = "Participant") -> Participant:
    """A participant of `participants` by uuid or integer id; `label` names the 404 (an invite link
    answers "Booking not found", revealing nothing of who takes part)."""
    return _by_ref(participants, ref, label)


def team_by_ref(organization_ids: OrganizationIds, ref: Ref) -> Team:
    return _by_ref(Team.objects.filter(organization_id__in=organization_ids), ref, "Team")


# The longest public id a booking has: anything longer is none (and never reaches the database).
PUBLIC_ID_MAX: int = Booking._meta.get_field("public_id").max_length or 32

# What the full booking resource nests, read with it in one query.
BOOKING_RELATED = (
    "organization",
    "service__organization",
    "location__organization",
    "staff",
    "customer",
    "hold",
    "series",
)


def bookings_visible_to(api_key: ApiKey) -> QuerySet[Booking]:
    """The bookings a key may see: its organizations' (business, hub keys); a customer key its
    customer's bookings and sessions; a public key none (it is in browser code for anyone to read);
    a session token only the bookings it made."""
    bookings = Booking.objects.filter(organization_id__in=key_organization_ids(api_key)).select_related(
        *BOOKING_RELATED
    )
    if api_key.kind in (ApiKey.Kind.BUSINESS, ApiKey.Kind.HUB):
        return bookings
    # The places of a class, loaded with it: each reader is shown only their own (`own_place`).
    bookings = bookings.prefetch_related(
        Prefetch("participants", queryset=Participant.objects.select_related("customer").order_by("-id"))
    )
    if api_key.kind == ApiKey.Kind.CUSTOMER:
        return bookings.filter(
            Q(customer_id=api_key.customer_id) | Q(participants__customer_id=api_key.customer_id)
        ).distinct()
    if api_key.kind == ApiKey.Kind.PUBLIC:
        return bookings.none()
    return bookings.filter(created_by_key=api_key)


def own_place(booking: Booking, api_key: ApiKey, *, booker_email: str | None = None) -> Participant | None:
    """The place in a group session of whoever reads it with `api_key`, who must see only that one
    (their own contact details and places, never another participant's).

    A customer key: its customer's place. A session token: the place of the customer it booked for
    (`booker_email`, when a request just placed them; else the session's first booker, the only
    one whose booking it made). None for an appointment, and for the merchant's keys (business,
    hub), which read the whole class. A participant who left keeps seeing their cancelled place.
    """
    if not booking.is_group or api_key.kind in (ApiKey.Kind.BUSINESS, ApiKey.Kind.HUB):
        return None
    places = sorted(booking.participants.all(), key=lambda p: (p.status != Participant.Status.ACTIVE, -p.pk))
    if api_key.kind == ApiKey.Kind.CUSTOMER:
        return next((p for p in places if p.customer_id == api_key.customer_id), None)
    if booker_email is not None:
        email = booker_email.strip().lower()
        return next((p for p in places if p.customer.email.lower() == email), None)
    return next((p for p in places if p.customer_id == booking.customer_id), None)


def hold_for_key(hold_id: uuid.UUID | str, api_key: ApiKey) -> Hold:
    """A hold the key may see: its organizations' holds; a session token only the holds it made."""
    holds = Hold.objects.select_related("service", "location", "staff").filter(
        organization_id__in=key_organization_ids(api_key)
    )
    if api_key.kind == ApiKey.Kind.SESSION:
        holds = holds.filter(api_key=api_key)
    hold = holds.filter(uuid=hold_id).first()
    if hold is None:
        raise NotFound("Hold not found")
    return hold


def organization_by_slug_for_key(slug: str, api_key: ApiKey) -> Organization:
    """The organization `slug` names, if the key may act for it (the customer & merchant API calls it
    `merchant_name`); else "Merchant not found"."""
    organization = Organization.objects.filter(slug=slug, id__in=key_organization_ids(api_key)).first()
    if organization is None:
        raise NotFound("Merchant not found")
    return organization


def active_service_by_id(organization_ids: OrganizationIds, service_id: int) -> Service:
    """A bookable service by its integer id, within these organizations."""
    service = (
        Service.objects.select_related("organization")
        .filter(organization_id__in=organization_ids, id=service_id, active=True)
        .first()
    )
    if service is None:
        raise NotFound("Service not found")
    return service


def location_by_id(organization_ids: OrganizationIds, location_id: int) -> Location:
    location = (
        Location.objects.select_related("organization")
        .filter(organization_id__in=organization_ids, id=location_id)
        .first()
    )
    if location is None:
        raise NotFound("Location not found")
    return location


def staff_by_id(organization_ids: OrganizationIds, staff_id: int) -> StaffMember:
    staff = StaffMember.objects.filter(organization_id__in=organization_ids, id=staff_id).first()
    if staff is None:
        raise NotFound("Staff member not found")
    return staff


def booking_by_id(organization_ids: OrganizationIds, booking_id: int) -> Booking:
    booking = (
        Booking.objects.select_related("organization", "service", "location")
        .filter(organization_id__in=organization_ids, id=booking_id)
        .first()
    )
    if booking is None:
        raise NotFound("Booking not found")
    return booking


def customer_by_uuid(organization_ids: OrganizationIds, customer_uuid: uuid.UUID) -> Customer:
    customer = Customer.objects.filter(organization_id__in=organization_ids, uuid=customer_uuid).first()
    if customer is None:
        raise NotFound("Customer not found")
    return customer


def active_participants(booking: Booking) -> QuerySet[Participant]:
    return booking.participants.filter(status=Participant.Status.ACTIVE).select_related("customer")


# --- The customer pages: no key, so organizations by slug and what a browser's session names ---
def organizations_with_booking_pages() -> QuerySet[Organization]:
    """Organizations that have at least one active service offered somewhere: their booking pages."""
    bookable = Service.objects.filter(organization_id=OuterRef("pk"), active=True, locations__isnull=False)
    return Organization.objects.filter(Exists(bookable)).order_by("name")


def organization_by_slug(slug: str) -> Organization:
    organization = Organization.objects.filter(slug=slug).first()
    if organization is None:
        raise NotFound("Organization not found")
    return organization


def bookable_services(organization: Organization) -> list[Service]:
    """The organization's active services with their locations and active staff, in catalogue order."""
    return list(
        Service.objects.filter(organization=organization, active=True, locations__isnull=False)
        .distinct()
        .order_by("id")
        .prefetch_related(
            Prefetch("locations", Location.objects.select_related("organization").order_by("id")),
            Prefetch("staff", StaffMember.objects.filter(active=True).order_by("id")),
        )
    )


def bookable_service(organization: Organization, slug: str) -> Service:
    """One of `bookable_services`, by slug; else 404."""
    service = next((s for s in bookable_services(organization) if s.slug == slug), None)
    if service is None:
        raise NotFound("Service not found")
    return service


def holds_by_uuids(organization: Organization | None, uuids: Collection[Any]) -> QuerySet[Hold]:
    """The holds with these uuids (of one organization, if given), with what a page shows of them."""
    holds = Hold.objects.filter(uuid__in=list(uuids)).select_related("organization", "service", "location", "staff")
    return holds.filter(organization=organization) if organization is not None else holds


def booking_by_public_id(public_id: str) -> Booking:
    public_id = str(public_id).strip().lower()
    booking = None
    if len(public_id) <= PUBLIC_ID_MAX and public_id.isprintable():
        booking = (
            Booking.objects.select_related("organization", "service", "location", "staff")
            .filter(public_id=public_id)
            .first()
        )
    if booking is None:
        raise NotFound("Booking not found")
    return booking


def booking_by_checkout_session(session_id: str) -> Booking | None:
    """The booking whose deposit a Stripe Checkout Session takes (its id is Stripe's, unguessable)."""
    if not session_id or len(session_id) > 255 or not session_id.isprintable():
        return None
    return (
        Booking.objects.select_related("organization", "service", "location", "staff")
        .filter(stripe_checkout_session_id=session_id)
        .first()
    )
