from django.apps import AppConfig


class BookingsConfig(AppConfig):
    name = "bookings"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from bookings import availability_cache, catalog_cache

        availability_cache.connect_invalidation()
        catalog_cache.connect_invalidation()
