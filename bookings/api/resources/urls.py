"""The resource API under /api/v1/: a viewset for everything an organization owns."""

from rest_framework.routers import SimpleRouter

from bookings.api.resources import viewsets
from bookings.api.resources.webhook_endpoints import WebhookEndpointViewSet

router = SimpleRouter()
router.register("organizations", viewsets.OrganizationViewSet, basename="organization")
router.register("locations", viewsets.LocationViewSet, basename="location")
router.register("services", viewsets.ServiceViewSet, basename="service")
router.register("staff", viewsets.StaffViewSet, basename="staff")
router.register("working-hours", viewsets.WorkingHoursViewSet, basename="working-hours")
router.register("time-off", viewsets.TimeOffViewSet, basename="time-off")
router.register("date-overrides", viewsets.DateOverrideViewSet, basename="date-override")
router.register("teams", viewsets.TeamViewSet, basename="team")
router.register("customers", viewsets.CustomerViewSet, basename="customer")
router.register("participants", viewsets.ParticipantViewSet, basename="participant")
router.register("series", viewsets.SeriesViewSet, basename="series")
router.register("holds", viewsets.HoldViewSet, basename="hold")
router.register("api-keys", viewsets.ApiKeyViewSet, basename="api-key")

# As its contract spells it (no trailing slash); the slash is optional everywhere (bookings.api.middleware).
webhook_router = SimpleRouter(trailing_slash=False)
webhook_router.register("webhook-endpoints", WebhookEndpointViewSet, basename="webhook-endpoint")

urlpatterns = [*router.urls, *webhook_router.urls]
