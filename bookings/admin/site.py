"""The workspace's own pages on Django's admin site: the calendar, the reports, and where an
invited member chooses their password; and an index that leads to them.

The default `admin.site` is kept (every admin registers with it as usual) and given these pages
by wrapping its `get_urls` and `each_context`.
"""

from functools import partial

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import path, reverse, reverse_lazy

from bookings.admin.calendar import calendar_view
from bookings.admin.login import throttled_login
from bookings.admin.reports import reports_view
from bookings.admin.tenancy import EVERYONE, OWNERS, has_role, visible_organizations

site = admin.site
site.site_header = "Booking platform"
site.site_title = "Merchant workspace"
site.index_title = "Merchant workspace"
site.index_template = "admin/workspace/index.html"


class InvitationAcceptView(auth_views.PasswordResetConfirmView):
    template_name = "registration/password_reset_confirm.html"
    success_url = reverse_lazy("admin:invitation_done")
    title = "Choose your password"


class InvitationDoneView(auth_views.PasswordResetCompleteView):
    template_name = "registration/password_reset_complete.html"
    title = "Your password is set"

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "login_url": reverse("admin:login")}


_admin_urls = site.get_urls
_admin_context = site.each_context


def workspace_urls():
    return [
        path("calendar/", site.admin_view(calendar_view), name="workspace_calendar"),
        path("reports/", site.admin_view(reports_view), name="workspace_reports"),
        path("invitation/<uidb64>/<token>/", InvitationAcceptView.as_view(), name="invitation_accept"),
        path("invitation/done/", InvitationDoneView.as_view(), name="invitation_done"),
        *_admin_urls(),
    ]


def workspace_links(request) -> list[tuple[str, str]]:
    """The index's shortcuts: the calendar, the bookings, the reports (owners), the booking pages."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not has_role(request, EVERYONE):
        return []
    links = [
        ("Calendar", reverse("admin:workspace_calendar")),
        ("Bookings", reverse("admin:bookings_booking_changelist")),
        ("Add booking", reverse("admin:bookings_booking_add")),
    ]
    if has_role(request, OWNERS):
        links.append(("Reports", reverse("admin:workspace_reports")))
    # Where customers book (the customer pages), for each of the user's organizations.
    for slug, name in visible_organizations(request).values_list("slug", "name")[:3]:
        links.append((f"{name}: booking page", reverse("pages:book-services", args=[slug])))
    return links


def workspace_context(request) -> dict:
    context = _admin_context(request)
    # Called by the template that shows them (the index) only: other pages read nothing for them.
    context["workspace_links"] = partial(workspace_links, request)
    return context


# Instance attributes, so that every app's admin keeps registering with the one default site.
site.get_urls = workspace_urls  # type: ignore[method-assign]
site.login = throttled_login(site)  # type: ignore[method-assign]
site.each_context = workspace_context  # type: ignore[method-assign]
