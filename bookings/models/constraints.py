"""Database-level guards that exist only on PostgreSQL, and stay inert on SQLite.

PostgreSQL refuses overlapping bookings itself (an exclusion constraint over a time range,
which needs btree_gist). SQLite has neither, so there the same classes emit no SQL and the
services' serialized writers carry the guarantee alone. Guarding the constraint class (not
just the migration operation) keeps later table rebuilds on SQLite from emitting EXCLUDE.
"""

from collections.abc import Iterable
from typing import Any

from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import DateTimeRangeField, RangeBoundary, RangeOperators
from django.contrib.postgres.operations import BtreeGistExtension
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import ProjectState
from django.db.models import Func, Model, Q


class TsTzRange(Func):
    """tstzrange(start, end, '[)'): adjacent intervals do not overlap."""

    function = "TSTZRANGE"
    output_field = DateTimeRangeField()

    def __init__(self, start: Any, end: Any, **extra: Any) -> None:
        super().__init__(start, end, RangeBoundary(), **extra)


class PostgresExclusionConstraint(ExclusionConstraint):
    # The three *_sql hooks return None off PostgreSQL: Django's schema editor skips a None
    # statement, though the stubs declare `str` (hence the override ignores).
    @staticmethod
    def _on_postgres(schema_editor: BaseDatabaseSchemaEditor | None) -> bool:
        return schema_editor is not None and schema_editor.connection.vendor == "postgresql"

    def constraint_sql(  # type: ignore[override]
        self, model: type[Model] | None, schema_editor: BaseDatabaseSchemaEditor | None
    ) -> str | None:
        return super().constraint_sql(model, schema_editor) if self._on_postgres(schema_editor) else None

    def create_sql(  # type: ignore[override]
        self, model: type[Model] | None, schema_editor: BaseDatabaseSchemaEditor | None
    ) -> str | None:
        return super().create_sql(model, schema_editor) if self._on_postgres(schema_editor) else None

    def remove_sql(  # type: ignore[override]
        self, model: type[Model] | None, schema_editor: BaseDatabaseSchemaEditor | None
    ) -> str | None:
        return super().remove_sql(model, schema_editor) if self._on_postgres(schema_editor) else None

    def validate(
        self, model: type[Model], instance: Model, exclude: Iterable[str] | None = None, using: str = DEFAULT_DB_ALIAS
    ) -> None:
        if connections[using].vendor == "postgresql":
            super().validate(model, instance, exclude=exclude, using=using)


def overlap_exclusion(*, name: str, resource: str, condition: Q) -> PostgresExclusionConstraint:
    """No two rows matching `condition` on one `resource` may have overlapping blocked ranges."""
    return PostgresExclusionConstraint(
        name=name,
        expressions=[
            (resource, RangeOperators.EQUAL),
            (TsTzRange("blocked_start", "blocked_end"), RangeOperators.OVERLAPS),
        ],
        condition=condition,
    )


class BtreeGistExtensionOnPostgres(BtreeGistExtension):
    def database_forwards(
        self, app_label: str, schema_editor: BaseDatabaseSchemaEditor, from_state: ProjectState, to_state: ProjectState
    ) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(
        self, app_label: str, schema_editor: BaseDatabaseSchemaEditor, from_state: ProjectState, to_state: ProjectState
    ) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)
