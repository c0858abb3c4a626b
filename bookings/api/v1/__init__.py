"""The `/api/v1/` surface: holds, bookings made from holds, and the merchant resource API."""
