"""Every booking surface, mounted at the paths its contract names."""

urlpatterns: list = []
