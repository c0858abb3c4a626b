"""`rows_written`: the writes Django itself reports to no receiver.

Django sends post_save, post_delete and m2m_changed for a model instance's save() and delete(), a
queryset's delete() and a relation's add/remove/clear/set, but nothing for QuerySet.update(),
bulk_create() and bulk_update(), and nothing at all for the rows of an auto-created many-to-many
table. The models whose rows others keep derived state of (caches) write through
`NotifyingQuerySet` (organizations/querysets.py), which sends `rows_written` after each of those
writes and after its own delete():

    rows_written.send(sender=model, organization_ids=frozenset({...}) or None, inserted=bool)

`inserted`: the write only added new rows (bulk_create without an upsert, a many-to-many create).

`organization_ids` are the organizations whose rows were written (before and after, when a write
moves rows between organizations), or None when they were not read: reading them costs a query
for update() and delete(), so it is done only when a receiver registered with
`organization_ids_wanted` asks for them at the time of the write. None obliges a receiver that
needs them to assume every organization.

Nothing here knows who listens: bookings/caching/invalidation.py connects the caches.
"""

from collections.abc import Callable

from django.db import models
from django.dispatch import Signal

rows_written = Signal()

# Whether a receiver needs the organization ids of a write to a model, by the receiver's name.
_wanted: dict[str, Callable[[type[models.Model]], bool]] = {}


def organization_ids_wanted(name: str, wanted: Callable[[type[models.Model]], bool]) -> None:
    """Register (or replace) `wanted(model)`: True when the receiver `name` needs the organization ids
    of a write to `model` now (they cost a query for update() and delete())."""
    _wanted[name] = wanted


def organization_ids_needed(model: type[models.Model]) -> bool:
    return any(wanted(model) for wanted in _wanted.values())
