"""The customer pages (a surface): book online at `/book/<org>/`, manage a booking at `/manage-booking`.

Server-rendered Django templates that work without JavaScript (it only adds a countdown and the
browser's time zone), thin over the same services as the API: each step validates a Django form,
calls one service and renders its result; a domain error becomes a message next to the form.
"""
