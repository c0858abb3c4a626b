"""`/`: the organizations' booking pages, and the way to a booking already made."""

from bookings.pages.common import Page, render_in_zone
from bookings.selectors import organizations_with_booking_pages


class IndexView(Page):
    def get(self, request):
        organizations = list(organizations_with_booking_pages())
        return render_in_zone(request, "pages/index.html", {"organizations": organizations}, zone="UTC")
