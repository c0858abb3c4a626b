"""The merchant workspace: Django's admin as a surface over the booking services.

Every model admin of the platform is registered here (organizations and holds cannot import the
services the admin calls), each limited to the user's organizations and roles (tenancy.py). The
admin never writes a booking, participant or hold itself: every change goes through
bookings.services. Times are local to the booking's location, with the zone named (times.py).
The workspace's own pages (the calendar, the reports) are added to the admin site (site.py).
"""

from bookings.admin import (  # noqa: F401 - each module registers its admins
    bookings,
    catalogue,
    customers,
    holds,
    keys_webhooks,
    members,
    records,
    site,
)
