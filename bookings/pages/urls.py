"""The customer pages: `/`, `/book/<org>/...`, `/manage-booking...`; and the deposit result pages,
which bookings/urls.py mounts at `/payments/` under the `payments` namespace Stripe's return URLs use."""

from django.urls import path

from bookings.pages import booking_flow, deposit, index, manage

app_name = "pages"

urlpatterns = [
    path("", index.IndexView.as_view(), name="index"),
    path("book/<slug:org_slug>/", booking_flow.ServicesStep.as_view(), name="book-services"),
    path("book/<slug:org_slug>/hold/<uuid:hold_uuid>/", booking_flow.DetailsStep.as_view(), name="book-details"),
    path("book/<slug:org_slug>/booked/<str:public_id>/", booking_flow.ConfirmedStep.as_view(), name="book-confirmed"),
    path("book/<slug:org_slug>/<slug:service_slug>/", booking_flow.SlotsStep.as_view(), name="book-slots"),
    # Without a slash, as the lookup contract's links spell it; with one too (only the first is reversed).
    path("manage-booking", manage.ManageView.as_view(), name="manage"),
    path("manage-booking/", manage.ManageView.as_view()),
    path("manage-booking/cancel", manage.CancelView.as_view(), name="manage-cancel"),
    path("manage-booking/cancel/", manage.CancelView.as_view()),
    path("manage-booking/reschedule", manage.RescheduleView.as_view(), name="manage-reschedule"),
    path("manage-booking/reschedule/", manage.RescheduleView.as_view()),
]

deposit_urlpatterns = [
    path("success", deposit.DepositPaid.as_view(), name="success"),
    path("cancelled", deposit.DepositNotPaid.as_view(), name="cancelled"),
]
