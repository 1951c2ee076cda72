"""The admin log is evidence too: the database itself refuses to change or delete a LogEntry row.

``django_admin_log`` records who changed what in the admin, and when: every edit of the rule tables (zones,
fee policies, penalty kinds, calendars...) and of the users. The admin does not offer to edit or delete it;
from here on nothing else can either (a shell, a script, a bulk edit), exactly as for the status history
(migration 0003, whose flush mechanism this shares: PostgreSQL's flush truncates, which row triggers do not
see; SQLite's deletes, and the DELETE trigger stands down while ``penalties_trigger_bypass`` has a row, which
only penalties' ``flush`` command writes).

What this refuses on purpose, beyond a direct edit:

- Deleting a user who is named in the log (LogEntry.user is CASCADE): the database refuses, so a user who has
  worked in the admin is deactivated, never deleted. The user admin already hides the delete button for them
  (servicedesk/admin.py); this is the same rule where the admin is not involved.
- Deleting a content type that log entries refer to (LogEntry.content_type is SET_NULL, an UPDATE): e.g.
  ``manage.py remove_stale_contenttypes`` after a model is dropped stops with a database error rather than
  blank out the log's record of which model was changed.

On SQLite, a later migration that rebuilds ``django_admin_log`` (a future Django's) would drop these
triggers: tests/security/test_audit.py fails if they are missing.
"""

from django.db import migrations

PG_FORWARD = r"""
CREATE OR REPLACE FUNCTION servicedesk_refuse_admin_log_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'servicedesk: the admin log is append-only (% refused)', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER servicedesk_admin_log_append_only
    BEFORE UPDATE OR DELETE ON django_admin_log
    FOR EACH ROW EXECUTE FUNCTION servicedesk_refuse_admin_log_change();
"""

PG_BACKWARD = r"""
DROP TRIGGER IF EXISTS servicedesk_admin_log_append_only ON django_admin_log;
DROP FUNCTION IF EXISTS servicedesk_refuse_admin_log_change();
"""

SQLITE_FORWARD = [
    # Made by penalties 0003; repeated so this migration does not depend on its internals.
    "CREATE TABLE IF NOT EXISTS penalties_trigger_bypass (reason TEXT NOT NULL)",
    """CREATE TRIGGER servicedesk_admin_log_no_update BEFORE UPDATE ON django_admin_log
       FOR EACH ROW BEGIN SELECT RAISE(ABORT, 'servicedesk: the admin log is append-only'); END""",
    """CREATE TRIGGER servicedesk_admin_log_no_delete BEFORE DELETE ON django_admin_log
       FOR EACH ROW WHEN NOT EXISTS (SELECT 1 FROM penalties_trigger_bypass)
       BEGIN SELECT RAISE(ABORT, 'servicedesk: the admin log is append-only'); END""",
]

SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS servicedesk_admin_log_no_delete",
    "DROP TRIGGER IF EXISTS servicedesk_admin_log_no_update",
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
        # The SQLite flush bypass, through 0003's own dependency on penalties 0003.
        ("servicedesk", "0003_statuschange_append_only"),
        # The table, as the admin app's last migration leaves it.
        ("admin", "0003_logentry_add_action_flag_choices"),
    ]

    operations = [migrations.RunPython(forward, backward)]
