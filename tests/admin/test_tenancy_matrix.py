"""The tenancy matrix: over every registered admin model and inline, the owner of organization B
sees nothing of organization A, cannot open A's objects, and cannot make anything point at A.

Every text of A carries "ALPHAONLY" (tests/admin/conftest.py), so "nothing of A" is: the marker is
absent from B's pages, choice lists, autocompletes and exports. Each test walks the whole admin
site and reports every problem it met at once.
"""

import csv
import io
import json

import pytest
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth import get_user_model
from django.forms.models import model_to_dict
from django.test import RequestFactory
from django.urls import NoReverseMatch, reverse

from bookings.admin.members import SuperuserOnly
from bookings.admin.tenancy import TenantAdmin, TenantInline, TenantInlineFormSet
from bookings.models import Booking, WebhookDelivery
from organizations.models import Membership
from tests.admin.html_forms import form_data

pytestmark = pytest.mark.django_db

A = "ALPHAONLY"
# Internal tables and the platform's users: a merchant may not even list them.
SUPERUSER_ONLY = {
    "bookings.IdempotencyRecord",
    "bookings.WebhookEvent",
    "bookings.WebhookAttempt",
    "bookings.StripeEvent",
    "bookings.OutboundEmail",
    "auth.User",
    "auth.Group",
}
WALKED: dict[str, int] = {}  # what each test covered, printed with -s


def admins():
    return sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)


def url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def owner_client(client, tenant):
    client.force_login(tenant.owner)
    return client


def snapshot(obj) -> dict:
    fresh = type(obj)._default_manager.get(pk=obj.pk)
    data = model_to_dict(fresh)
    return {k: (sorted(x.pk for x in v) if isinstance(v, list) else v) for k, v in data.items()}


def test_b_lists_nothing_of_a_and_cannot_open_as_objects(client, alpha, bravo):
    owner_client(client, bravo)
    problems, forbidden, pages = [], set(), 0
    for model, model_admin in admins():
        label = model._meta.label
        listing = client.get(url(model, "changelist"))
        search = client.get(url(model, "changelist") + "?q=Jane")  # A's customer is "ALPHAONLY Jane"
        pages += 2
        if listing.status_code == 403:
            forbidden.add(label)
        elif listing.status_code != 200 or A in listing.content.decode() or A in search.content.decode():
            problems.append(f"{label} changelist: {listing.status_code} or shows A")
        mine, theirs = bravo.objects.get(model), alpha.objects.get(model)
        for view in ("change", "history", "delete"):
            if theirs is not None:
                response = client.get(url(model, view, theirs.pk))
                pages += 1
                if response.status_code not in (302, 403, 404) or A in response.content.decode():
                    problems.append(f"{label} {view} of A's object answered {response.status_code}")
                if response.status_code == 302 and response.url != reverse("admin:index"):
                    problems.append(f"{label} {view} of A's object redirected to {response.url}")
            if mine is not None and view != "delete":
                response = client.get(url(model, view, mine.pk))
                pages += 1
                allowed = (200, 403, 302) if label in SUPERUSER_ONLY else (200, 403)  # 302: "not found" to them
                if response.status_code not in allowed or A in response.content.decode():
                    problems.append(f"{label} {view} of B's own object: {response.status_code} or shows A")
        if model_admin.has_add_permission(_request(bravo.owner)):
            response = client.get(url(model, "add"))
            pages += 1
            if response.status_code != 200 or A in response.content.decode():
                problems.append(f"{label} add page: {response.status_code} or offers A")
    WALKED["models"] = len(admin.site._registry)
    WALKED["pages"] = pages
    print(f"tenancy matrix: {len(admin.site._registry)} models, {pages} pages as B's owner")
    assert problems == [], "\n".join(problems)
    assert forbidden == SUPERUSER_ONLY


def test_b_reaches_none_of_as_booking_pages(client, alpha, bravo):
    owner_client(client, bravo)
    theirs = alpha.booking
    before = snapshot(theirs)
    gets = [
        reverse("admin:bookings_booking_reschedule", args=[theirs.pk]),
        reverse("admin:bookings_booking_cancel", args=[theirs.pk]),
    ]
    posts = [
        *gets,
        reverse("admin:bookings_booking_status", args=[theirs.pk, "completed"]),
        reverse("admin:bookings_booking_resend", args=[theirs.pk]),
        reverse("admin:bookings_webhookdelivery_resend", args=[alpha.objects[WebhookDelivery].pk]),
    ]
    for path in gets:
        assert client.get(path).status_code == 404, path
    for path in posts:
        assert (
            client.post(path, {"reason": "x", "date": str(alpha.day), "time": "11:00", "_move": "1"}).status_code == 404
        )
    assert snapshot(theirs) == before


def _request(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


def test_autocompletes_offer_nothing_of_a(client, alpha, bravo):
    owner_client(client, bravo)
    problems, walked = [], 0
    for source in list(admin.site._registry):
        for field in source._meta.get_fields():
            if not (field.is_relation and (field.many_to_one or field.many_to_many) and not field.auto_created):
                continue
            remote_admin = admin.site._registry.get(field.related_model)
            if remote_admin is None or not remote_admin.search_fields:
                continue
            for term in ("", A, A.lower()):
                response = client.get(
                    reverse("admin:autocomplete"),
                    {
                        "app_label": source._meta.app_label,
                        "model_name": source._meta.model_name,
                        "field_name": field.name,
                        "term": term,
                    },
                )
                walked += 1
                if response.status_code == 403:
                    continue
                results = json.loads(response.content)["results"]
                theirs = alpha.objects.get(field.related_model)
                if any(A in r["text"] for r in results) or (theirs and str(theirs.pk) in {r["id"] for r in results}):
                    problems.append(f"{source._meta.label}.{field.name}: {results}")
    WALKED["autocompletes"] = walked
    print(f"tenancy matrix: {walked} autocomplete requests")
    assert walked > 20
    assert problems == [], "\n".join(problems)


def test_exports_calendar_and_reports_hold_nothing_of_a(client, alpha, bravo):
    owner_client(client, bravo)
    response = client.post(
        reverse("admin:bookings_booking_changelist"),
        {"action": "export_csv", ACTION_CHECKBOX_NAME: [alpha.booking.pk, bravo.booking.pk]},
    )
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert [row[0] for row in rows[1:]] == [bravo.booking.confirmation_number]
    for path in (
        reverse("admin:workspace_calendar") + f"?location={alpha.location.pk}&date={alpha.day}",
        reverse("admin:workspace_calendar") + f"?location={alpha.location.pk}&date={alpha.day}&view=week",
        reverse("admin:workspace_reports") + f"?location={alpha.location.pk}",
        reverse("admin:workspace_reports") + f"?location={alpha.location.pk}&format=csv",
        reverse("admin:bookings_booking_add") + f"?service={alpha.haircut.pk}&location={alpha.location.pk}",
        reverse("admin:bookings_booking_add") + f"?service={alpha.haircut.pk}&date={alpha.day}",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        assert A not in response.content.decode(), path
    assert bravo.marker in client.get(reverse("admin:workspace_calendar") + f"?date={bravo.day}").content.decode()


def _relation_model(model, name: str):
    try:
        field = model._meta.get_field(name)
    except Exception:  # noqa: BLE001 - not a model field (a form's own)
        return None
    return field.related_model if field.is_relation else None


def _alpha_instance(alpha, related):
    if related is None:
        return None
    if related is get_user_model():
        return alpha.owner
    return alpha.objects.get(related)


def _posted(data: dict[str, list[str]], **changes) -> dict:
    out = {k: v for k, v in data.items()}
    out.update(changes)
    return out


def _refused(response) -> bool:
    body = response.content.decode()
    return response.status_code in (200, 403, 404) and (
        response.status_code != 200 or "errorlist" in body or "errornote" in body
    )


def _form_pages(bravo):
    """(model, model admin, page url, B's object or None, the submit button's name) of every form a
    merchant of B can post: each add page and each change page of B's own objects."""
    request = _request(bravo.owner)
    for model, model_admin in admins():
        if model_admin.has_add_permission(request):
            submit = {"bookings.Booking": "_book"}.get(model._meta.label, "_save")
            yield model, model_admin, url(model, "add"), None, submit
        mine = bravo.objects.get(model)
        if mine is not None and model_admin.has_change_permission(request, mine):
            yield model, model_admin, url(model, "change", mine.pk), mine, "_save"


def test_posts_naming_as_objects_are_refused(client, alpha, bravo):
    """Every select, hidden or typed id of every add and change form (and of each inline row),
    set to an object of A, is a form error, and nothing changes."""
    owner_client(client, bravo)
    problems, posts, inlines = [], 0, set()
    for model, _model_admin, page, mine, submit in _form_pages(bravo):
        html = client.get(page).content.decode()
        data = form_data(html, f"{model._meta.model_name}_form")
        assert data, f"no form on {page}"
        data[submit] = ["1"]
        inline_models = _inline_models(model, bravo.owner, mine) if mine is not None else {}
        for name in [n for n in data if "__prefix__" not in n]:  # an empty row's template is not sent
            prefix, _, field_name = name.rpartition("-")
            target_model = model
            if prefix:  # an inline row: prefix-N-field
                formset_prefix = prefix.rsplit("-", 1)[0]
                target_model = inline_models.get(formset_prefix)
                if target_model is None:
                    continue
                inlines.add(f"{model._meta.label}:{target_model._meta.model_name}")
            related = target_model if field_name == "id" and prefix else _relation_model(target_model, field_name)
            theirs = _alpha_instance(alpha, related)
            if theirs is None:
                continue
            before_mine = snapshot(mine) if mine is not None else None
            before_theirs = snapshot(theirs)
            count = model._default_manager.count()
            response = client.post(page, _posted(data, **{name: [str(theirs.pk)]}))
            posts += 1
            if not _refused(response):
                problems.append(f"{page} {name}={theirs.pk} ({related._meta.label}): {response.status_code}")
            if model._default_manager.count() != count:
                problems.append(f"{page} {name}: a {model._meta.label} was created")
            if mine is not None and snapshot(mine) != before_mine:
                problems.append(f"{page} {name}: B's object changed")
            if snapshot(theirs) != before_theirs:
                problems.append(f"{page} {name}: A's object changed")
        # A new inline row naming A's objects.
        for total in [k for k in data if k.endswith("-TOTAL_FORMS")]:
            formset_prefix = total.removesuffix("-TOTAL_FORMS")
            inline_model = inline_models.get(formset_prefix)
            if inline_model is None or mine is None:
                continue
            index = int(data[total][0])
            row_fields = {n.rsplit("-", 1)[1] for n in data if n.startswith(f"{formset_prefix}-__prefix__-")}
            for field in inline_model._meta.get_fields():
                theirs = _alpha_instance(alpha, field.related_model if field.is_relation else None)
                if theirs is None or not field.many_to_one or field.name not in row_fields:
                    continue
                row = {
                    f"{formset_prefix}-{index}-{name}": [value] for name, value in _new_row(inline_model, alpha).items()
                }
                row[f"{formset_prefix}-{index}-{field.name}"] = [str(theirs.pk)]
                inlines.add(f"{model._meta.label}:{inline_model._meta.model_name}")
                count = inline_model._default_manager.count()
                response = client.post(page, _posted(data, **row, **{total: [str(index + 1)]}))
                posts += 1
                if not _refused(response) or inline_model._default_manager.count() != count:
                    problems.append(f"{page} new {formset_prefix} row with {field.name} of A: {response.status_code}")
    WALKED["posts"] = posts
    WALKED["inlines"] = len(inlines)
    print(f"tenancy matrix: {posts} posts naming A's objects, over {len(inlines)} inlines: {sorted(inlines)}")
    assert posts > 30
    assert problems == [], "\n".join(problems)


def _inline_models(model, user, obj) -> dict[str, type]:
    """{formset prefix: model} of the inlines on `obj`'s change page, named as Django's admin names them."""
    model_admin = admin.site._registry[model]
    request = _request(user)
    counts: dict[str, int] = {}
    found = {}
    for inline in model_admin.get_inline_instances(request, obj):
        prefix = inline.get_formset(request, obj).get_default_prefix()
        counts[prefix] = counts.get(prefix, 0) + 1
        if counts[prefix] != 1 or not prefix:
            prefix = f"{prefix}-{counts[prefix]}"
        found[prefix] = inline.model
    return found


def _new_row(model, alpha) -> dict[str, str]:
    """Valid values for a new schedule row (the field under test then names A)."""
    if model._meta.model_name == "workinghours":
        return {"weekday": "3", "start_time": "09:00", "end_time": "10:00"}
    if model._meta.model_name == "timeoff":
        return {
            "starts_at_0": str(alpha.day),
            "starts_at_1": "09:00",
            "ends_at_0": str(alpha.day),
            "ends_at_1": "10:00",
        }
    if model._meta.model_name == "dateoverride":
        return {"date": str(alpha.day)}
    return {}


def test_actions_on_as_objects_change_nothing(client, alpha, bravo):
    owner_client(client, bravo)
    request = _request(bravo.owner)
    walked, problems = 0, []
    for model, model_admin in admins():
        theirs = alpha.objects.get(model)
        if theirs is None or not model_admin.has_module_permission(request):
            continue
        for name in model_admin.get_actions(request):
            before = snapshot(theirs)
            client.post(
                url(model, "changelist"),
                {"action": name, ACTION_CHECKBOX_NAME: [theirs.pk], "post": "yes", "reason": "taken over"},
            )
            walked += 1
            if snapshot(theirs) != before:
                problems.append(f"{model._meta.label} action {name} changed A's object")
    WALKED["actions"] = walked
    print(f"tenancy matrix: {walked} actions on A's objects")
    assert walked >= 8
    assert problems == [], "\n".join(problems)
    assert Booking.objects.get(pk=alpha.booking.pk).status == "confirmed"


def test_a_merchant_of_both_sees_both_and_a_superuser_sees_all(client, alpha, bravo, superuser):
    Membership.objects.create(user=bravo.owner, organization=alpha.organization, role="staff")
    owner_client(client, bravo)
    page = client.get(reverse("admin:bookings_booking_changelist")).content.decode()
    assert A in page and bravo.marker in page
    # Staff of A: A's bookings and customers, but none of A's catalogue.
    assert A not in client.get(reverse("admin:organizations_service_changelist")).content.decode()
    client.force_login(superuser)
    page = client.get(reverse("admin:organizations_staffmember_changelist")).content.decode()
    assert A in page and bravo.marker in page


def test_every_registered_admin_and_inline_is_walked():
    try:
        reverse("admin:workspace_calendar")
    except NoReverseMatch:  # pragma: no cover - the workspace's pages must exist
        pytest.fail("the calendar is not mounted")
    inlines = [inline for model_admin in admin.site._registry.values() for inline in model_admin.inlines]
    assert len(admin.site._registry) >= 24 and len(inlines) >= 6
    for inline in inlines:  # every inline scopes its rows, choices and row ids
        assert issubclass(inline, TenantInline) and issubclass(inline.formset, TenantInlineFormSet), inline
    for model_admin in admin.site._registry.values():
        assert isinstance(model_admin, TenantAdmin | SuperuserOnly), model_admin


def test_an_owner_of_two_organizations_cannot_mix_them_in_one_row(client, alpha, bravo):
    """Both tenants' rows are choices for them, but a row points into one organization only."""
    Membership.objects.create(user=bravo.owner, organization=alpha.organization, role="owner")
    owner_client(client, bravo)
    service = client.post(
        url(type(bravo.haircut), "add"),
        {
            "organization": bravo.organization.pk,
            "name": "Mixed",
            "slug": "mixed",
            "kind": "appointment",
            "duration_minutes": 30,
            "buffer_before_minutes": 0,
            "buffer_after_minutes": 0,
            "capacity_min": 1,
            "capacity_max": 1,
            "price_minor": 0,
            "deposit_minor": 0,
            "locations": [alpha.location.pk],
            "staff": [bravo.alex.pk],
            "custom_fields": "[]",
            "_save": "Save",
        },
    )
    assert service.status_code == 200 and "This belongs to another organization." in service.content.decode()
    booking = client.post(
        reverse("admin:bookings_booking_add"),
        {
            "service": bravo.haircut.pk,
            "location": bravo.location.pk,
            "staff": alpha.alex.pk,
            "date": str(bravo.day),
            "time": "11:00",
            "customer": alpha.customer.pk,
            "party_size": "1",
            "_book": "Book",
        },
    )
    body = booking.content.decode()
    assert booking.status_code == 200 and "does not offer" in body and "another organization" in body
    assert not Booking.objects.filter(starts_at=bravo.at(11)).exists()
