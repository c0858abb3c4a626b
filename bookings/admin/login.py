"""The admin's login, throttled: wrong passwords are counted per user name and per client address.

Thirty wrong passwords in a row went through unthrottled. Each failed login now counts against
the user name tried (ADMIN_LOGIN_USER_RATE_LIMIT) and the client's address, NUM_PROXIES hops back
(ADMIN_LOGIN_ADDRESS_RATE_LIMIT), with django-ratelimit's counters in the shared cache. Once
either is spent the login form answers 429 with an error and the password is not even checked,
until the window ends. A successful login costs nothing; the user-name budget is the larger, so
that guessing one merchant's password from many addresses is slow while a stranger's failures
from one address cannot lock that merchant out for long.
"""

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.admin import AdminSite
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.forms.utils import ErrorDict
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django_ratelimit.core import get_usage
from rest_framework.throttling import BaseThrottle

LOCKED_OUT = "Too many failed logins. Please try again in {minutes} minute{s}."


def _counters(request: HttpRequest) -> list[tuple[str, str, str]]:
    username = str(request.POST.get("username", "")).strip().lower()[:150]
    return [
        ("admin-login-address", settings.ADMIN_LOGIN_ADDRESS_RATE_LIMIT, BaseThrottle().get_ident(request)),  # type: ignore[arg-type]
        ("admin-login-user", settings.ADMIN_LOGIN_USER_RATE_LIMIT, username),
    ]


def _usage(request: HttpRequest, *, increment: bool) -> int | None:
    """Seconds until the login may be tried again, or None while every counter has room."""
    wait = None
    for group, rate, value in _counters(request):
        usage = get_usage(request, group=group, key=lambda _g, _r, value=value: value, rate=rate, increment=increment)
        if usage is None:
            continue
        spent = usage["count"] > usage["limit"] if increment else usage["count"] >= usage["limit"]
        if spent:
            wait = max(wait or 0, max(1, usage["time_left"]))
    return wait


def _locked_out_page(site: AdminSite, request: HttpRequest, wait: int) -> HttpResponse:
    """The login form again, with the error, and the password never checked."""
    form_class = site.login_form or AdminAuthenticationForm
    form = form_class(request, data=request.POST)
    form.cleaned_data = {}
    # Set, so that adding the error does not validate the form (which would check the password).
    form._errors = ErrorDict()  # type: ignore[attr-defined]  # Django sets it in full_clean()
    minutes = max(1, -(-wait // 60))
    form.add_error(None, LOCKED_OUT.format(minutes=minutes, s="" if minutes == 1 else "s"))
    context = {
        **site.each_context(request),
        "title": _("Log in"),
        "subtitle": None,
        "app_path": request.get_full_path(),
        "form": form,
        "username": request.POST.get("username", ""),
        REDIRECT_FIELD_NAME: request.GET.get(REDIRECT_FIELD_NAME, ""),
    }
    response = TemplateResponse(request, site.login_template or "admin/login.html", context, status=429)
    response["Retry-After"] = str(wait)
    return response


def throttled_login(site: AdminSite) -> Callable[..., HttpResponse]:
    """`site.login`, counting failures and refusing (429) once a budget is spent."""
    login = site.login

    def view(request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        if request.method != "POST":
            return login(request, extra_context)
        wait = _usage(request, increment=False)
        if wait is not None:
            return _locked_out_page(site, request, wait)
        response = login(request, extra_context)
        if not request.user.is_authenticated:  # a wrong user name or password
            _usage(request, increment=True)
        return response

    return view
