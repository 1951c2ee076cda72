"""``flush`` that can empty the penalties tables on SQLite too.

The database refuses to delete approved rulings and audit entries (migration 0003). PostgreSQL's
flush uses TRUNCATE, which those row triggers do not see; SQLite's uses DELETE, so for the length
of a flush (emptying the whole database, e.g. between transactional tests) the SQLite triggers
are told to stand down through the ``penalties_trigger_bypass`` table, and told again afterwards.
"""

from django.core.management.commands.flush import Command as FlushCommand
from django.db import DEFAULT_DB_ALIAS, connections

BYPASS_TABLE = "penalties_trigger_bypass"


class Command(FlushCommand):
    def handle(self, **options):
        connection = connections[options.get("database") or DEFAULT_DB_ALIAS]
        if connection.vendor != "sqlite" or BYPASS_TABLE not in connection.introspection.table_names():
            return super().handle(**options)
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {BYPASS_TABLE} (reason) VALUES ('flush')")  # noqa: S608 - a constant
        try:
            return super().handle(**options)
        finally:
            with connection.cursor() as cursor:
                cursor.execute(f"DELETE FROM {BYPASS_TABLE}")  # noqa: S608 - a constant
