"""A QuerySet whose bulk writes say which organizations they touched (organizations/signals.py).

`NotifyingQuerySet` is the default manager's QuerySet of every model whose rows a cache keeps answers of.
Its update(), delete(), bulk_create() and bulk_update() send `rows_written` once, after writing,
with the organizations of the rows written (None when no receiver wanted them). What Django already
reports (an instance's save() and delete(), rows a deletion cascades to) goes through Django's own
signals, which it does send for these models.

`organization_path` is the lookup from a row to its organization's id: "organization" for most
models, "pk" for an organization, "booking__organization" for a participant.

The tables Django creates for a many-to-many field have no model signals at all (Django sends
none for auto-created models), and the relation's add/remove/clear/set write them through the
table's default manager. `through_queryset_install` makes that manager a `NotifyingQuerySet` whose
create() notifies too, so every write of such a row through the ORM notifies, but a single
row's own save() or delete() (`Service.staff.through(...).save()`), which nothing can observe:
write those rows through the relation or the manager.
"""

from collections.abc import Iterable, Set
from typing import Any, cast

from django.db import models

from organizations.signals import organization_ids_needed, rows_written


class NotifyingQuerySet(models.QuerySet):
    organization_path = "organization"

    # Which organizations ------------------------------------------------------------------------

    def _head(self) -> models.Field:
        """The model's own field the organization path starts with."""
        head = self.organization_path.split("__", 1)[0]
        # A concrete column (the pk, or the model's own organization or foreign key), never a reverse relation.
        return cast(models.Field, self.model._meta.pk if head == "pk" else self.model._meta.get_field(head))

    def _moves(self, fields: Iterable[str]) -> bool:
        """Whether writing `fields` may move rows to another organization."""
        head = self._head()
        return bool({head.name, head.attname, "pk"} & set(fields))

    def _read(self) -> models.QuerySet:
        """These rows, to read from before writing them: no ordering, no FOR UPDATE (the write locks)."""
        rows = self.order_by()
        rows.query.select_for_update = False
        return rows

    def _ids_here(self) -> set:
        """The organizations of the rows this queryset matches (one query)."""
        return set(self._read().values_list(self.organization_path, flat=True).distinct())

    def _ids_of_pks(self, pks: Iterable) -> set:
        rows = self.model._base_manager.using(self.db).filter(pk__in=list(pks))
        return set(rows.order_by().values_list(self.organization_path, flat=True).distinct())

    def _ids_of(self, objs: Iterable[models.Model]) -> set:
        """The organizations of these instances: their own column, or one query along the path."""
        head = self._head()
        values = {getattr(obj, head.attname) for obj in objs} - {None}
        rest = self.organization_path.partition("__")[2]
        if not rest or not values:
            return values
        related_model = cast("type[models.Model]", head.related_model)  # a path on from here: a foreign key
        related = related_model._base_manager.using(self.db).filter(pk__in=values)
        return set(related.order_by().values_list(rest, flat=True).distinct())

    def _written(self, organization_ids: Set[Any] | None, *, inserted: bool = False) -> None:
        if organization_ids is not None:
            organization_ids = frozenset(organization_ids) - {None}
        rows_written.send(sender=self.model, organization_ids=organization_ids, inserted=inserted)

    # The writes ---------------------------------------------------------------------------------

    def update(self, **kwargs) -> int:
        ids = None
        if self.query.is_sliced or not organization_ids_needed(self.model):
            count = super().update(**kwargs)  # refused when sliced, as Django refuses it
        elif self._moves(kwargs):
            before = list(self._read().values_list("pk", self.organization_path))
            count = super().update(**kwargs)
            ids = {org for _, org in before} | self._ids_of_pks(pk for pk, _ in before)
        else:
            ids = self._ids_here()
            count = super().update(**kwargs)
        if count:
            self._written(ids)
        return count

    update.alters_data = True  # type: ignore[attr-defined]

    def delete(self) -> tuple[int, dict[str, int]]:
        wanted = not self.query.is_sliced and organization_ids_needed(self.model)
        ids = self._ids_here() if wanted else None
        deleted, counts = super().delete()
        if deleted:
            self._written(ids)
        return deleted, counts

    delete.alters_data = True  # type: ignore[attr-defined]
    delete.queryset_only = True  # type: ignore[attr-defined]

    def bulk_create(self, objs, batch_size=None, ignore_conflicts=False, update_conflicts=False, update_fields=None,
                    unique_fields=None):  # fmt: skip
        objs = super().bulk_create(
            objs,
            batch_size=batch_size,
            ignore_conflicts=ignore_conflicts,
            update_conflicts=update_conflicts,
            update_fields=update_fields,
            unique_fields=unique_fields,
        )
        if objs:
            ids = None
            if organization_ids_needed(self.model):
                ids = self._ids_of(objs)
                if update_conflicts:
                    # Rows updated in place keep their organization unless the upsert moved them, from
                    # one nobody read.
                    pks = [obj.pk for obj in objs]
                    moved = self._moves(update_fields or ())
                    ids = None if moved or None in pks else ids | self._ids_of_pks(pks)
            self._written(ids, inserted=not update_conflicts)
        return objs

    bulk_create.alters_data = True  # type: ignore[attr-defined]

    def bulk_update(self, objs, fields, batch_size=None) -> int:
        objs = tuple(objs)
        ids = None
        if organization_ids_needed(self.model):
            ids = self._ids_of(objs)
            if self._moves(fields):
                ids |= self._ids_of_pks(obj.pk for obj in objs)  # where they were
        count = super().bulk_update(objs, fields, batch_size=batch_size)
        if count:
            self._written(ids)
        return count

    bulk_update.alters_data = True  # type: ignore[attr-defined]


class ThroughQuerySet(NotifyingQuerySet):
    """For an auto-created many-to-many table, whose rows send no model signals: create() notifies."""

    def create(self, **kwargs):
        obj = super().create(**kwargs)
        self._written(self._ids_of([obj]) if organization_ids_needed(self.model) else None, inserted=True)
        return obj

    create.alters_data = True  # type: ignore[attr-defined]


def through_queryset_install(through: type[models.Model], queryset_class: type[ThroughQuerySet]) -> None:
    """Make a manager of `queryset_class` the default manager (`objects`) of the auto-created
    many-to-many model `through`, instead of the plain one Django gave it."""
    opts = through._meta
    if not opts.auto_created:
        raise TypeError(f"{through.__name__} is not an auto-created many-to-many model")
    opts.local_managers = [manager for manager in opts.local_managers if manager.name != "objects"]
    through.add_to_class("objects", queryset_class.as_manager())  # expires the cached managers
