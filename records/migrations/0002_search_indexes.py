"""pg_trgm GIN indexes for the search box (records/search.py), on PostgreSQL only.

The calls' own text is one expression (number, contact, phone as typed and as digits, problem); the customers'
name and phone another; the products' serial number. The expressions are the strings the queries use.
SQLite searches with a plain LIKE and gets no index.
"""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

from records.search import CALL_TEXT, CUSTOMER_TEXT

INDEXES = [
    ("call_search_trgm_idx", "repairs_repaircall", CALL_TEXT),
    ("customer_search_trgm_idx", "repairs_customer", CUSTOMER_TEXT),
    ("product_serial_trgm_idx", "repairs_product", "serial_number"),
]


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, table, expression in INDEXES:
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin (({expression}) gin_trgm_ops)")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _table, _expression in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("records", "0001_initial"), ("repairs", "0012_call_history_indexes")]

    operations = [TrigramExtension(), migrations.RunPython(create, drop)]
