"""The public booking API (`/api/calendar/v1/public/`), authenticated by `x-kordless-key`."""
