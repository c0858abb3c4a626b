"""`/`: the organizations' booking pages, and the way to a booking already made."""

from django.views import View

from bookings.pages.common import render_in_zone
from bookings.selectors import organizations_with_booking_pages


class IndexView(View):
    def get(self, request):
        organizations = list(organizations_with_booking_pages())
        return render_in_zone(request, "pages/index.html", {"organizations": organizations}, zone="UTC")
