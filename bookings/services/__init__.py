"""Domain services: every change to holds and bookings goes through these functions."""
