"""The status history is evidence: the database itself refuses to change or delete a StatusChange row.

The admin shows it read-only and only services write it (INSERT); an UPDATE or DELETE from anywhere
(a shell, a script, a bulk edit) is refused by a row trigger, as penalties does for its audit trail.

Emptying the whole database (``manage.py flush``, e.g. between transactional tests) still works, through
the mechanism penalties already has: PostgreSQL's flush uses TRUNCATE, which row triggers do not see;
SQLite's uses DELETE, and its DELETE trigger stands down while ``penalties_trigger_bypass`` has a row, which
only penalties' ``flush`` command writes (penalties/management/commands/flush.py). Hence the dependency.
"""

from django.db import migrations

PG_FORWARD = r"""
CREATE OR REPLACE FUNCTION servicedesk_refuse_history_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'servicedesk: the status history is append-only (% refused)', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER servicedesk_statuschange_append_only
    BEFORE UPDATE OR DELETE ON servicedesk_statuschange
    FOR EACH ROW EXECUTE FUNCTION servicedesk_refuse_history_change();
"""

PG_BACKWARD = r"""
DROP TRIGGER IF EXISTS servicedesk_statuschange_append_only ON servicedesk_statuschange;
DROP FUNCTION IF EXISTS servicedesk_refuse_history_change();
"""

SQLITE_FORWARD = [
    # Made by penalties 0003; repeated so this migration does not depend on its internals.
    "CREATE TABLE IF NOT EXISTS penalties_trigger_bypass (reason TEXT NOT NULL)",
    """CREATE TRIGGER servicedesk_statuschange_no_update BEFORE UPDATE ON servicedesk_statuschange
       FOR EACH ROW BEGIN SELECT RAISE(ABORT, 'servicedesk: the status history is append-only'); END""",
    """CREATE TRIGGER servicedesk_statuschange_no_delete BEFORE DELETE ON servicedesk_statuschange
       FOR EACH ROW WHEN NOT EXISTS (SELECT 1 FROM penalties_trigger_bypass)
       BEGIN SELECT RAISE(ABORT, 'servicedesk: the status history is append-only'); END""",
]

SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS servicedesk_statuschange_no_delete",
    "DROP TRIGGER IF EXISTS servicedesk_statuschange_no_update",
]


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_FORWARD, params=None)
    elif vendor == "sqlite":
        for statement in SQLITE_FORWARD:
            schema_editor.execute(statement)


def backward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_BACKWARD, params=None)
    elif vendor == "sqlite":
        for statement in SQLITE_BACKWARD:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("servicedesk", "0002_company_profile"),
        # The SQLite flush bypass (penalties_trigger_bypass and the flush command that uses it).
        ("penalties", "0003_immutability_triggers"),
    ]

    operations = [migrations.RunPython(forward, backward)]
