"""B-tree indexes on the phone numbers' digits (records/search.py ``PHONE_DIGITS``), on PostgreSQL only.

A search that is a whole phone number ranks the calls whose contact phone, or whose customer's phone, has
exactly its digits first. That equality was found through the trigram index (its digit trigrams are in most
calls' text: 8 ms over 1,000,000 calls); on its own index it is a key look-up.
"""

from django.db import migrations

from records.search import PHONE_DIGITS

INDEXES = [
    ("call_phone_digits_idx", "repairs_repaircall", PHONE_DIGITS.format(col="contact_phone")),
    ("customer_phone_digits_idx", "repairs_customer", PHONE_DIGITS.format(col="phone")),
]


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, table, expression in INDEXES:
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} (({expression}))")
        schema_editor.execute(f"ANALYZE {table}")  # the expression's statistics, or the planner guesses


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _table, _expression in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("records", "0002_search_indexes")]

    operations = [migrations.RunPython(create, drop)]
