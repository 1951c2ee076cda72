"""The database itself refuses to change an approved penalty or the audit trail.

- An approved ruling: no UPDATE, no DELETE. Its lines: no INSERT, UPDATE or DELETE.
- The audit trail: no UPDATE, no DELETE, ever.
- PostgreSQL also checks, at commit, that a ruling past its draft has lines whose shares add up
  to exactly 100 % (a deferred constraint trigger; reversals excepted).

PostgreSQL's TRUNCATE (which only ``manage.py flush`` uses, e.g. between transactional tests)
does not fire row triggers. SQLite has no TRUNCATE: its DELETE triggers stand down while the
``penalties_trigger_bypass`` table has a row, which only this app's ``flush`` command writes.
On SQLite a later migration that rebuilds one of these tables drops its triggers: repeat them
there (tests/penalties/test_immutability.py fails if they are missing).
"""

from django.db import migrations

PG_FORWARD = r"""
CREATE OR REPLACE FUNCTION penalties_refuse_approved_ruling_change() RETURNS trigger AS $$
BEGIN
    IF OLD.status = 'approved' THEN
        RAISE EXCEPTION 'penalties: approved ruling % is immutable; make a correction', OLD.number
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER penalties_ruling_immutable
    BEFORE UPDATE OR DELETE ON penalties_penaltyruling
    FOR EACH ROW EXECUTE FUNCTION penalties_refuse_approved_ruling_change();

CREATE OR REPLACE FUNCTION penalties_refuse_approved_line_change() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND EXISTS (
        SELECT 1 FROM penalties_penaltyruling WHERE id = OLD.ruling_id AND status = 'approved'
    ) THEN
        RAISE EXCEPTION 'penalties: the lines of an approved ruling are immutable; make a correction'
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND EXISTS (
        SELECT 1 FROM penalties_penaltyruling WHERE id = NEW.ruling_id AND status = 'approved'
    ) THEN
        RAISE EXCEPTION 'penalties: an approved ruling takes no new lines; make a correction'
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER penalties_line_immutable
    BEFORE INSERT OR UPDATE OR DELETE ON penalties_penaltyline
    FOR EACH ROW EXECUTE FUNCTION penalties_refuse_approved_line_change();

CREATE OR REPLACE FUNCTION penalties_refuse_audit_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'penalties: the audit trail is append-only' USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER penalties_audit_append_only
    BEFORE UPDATE OR DELETE ON penalties_auditentry
    FOR EACH ROW EXECUTE FUNCTION penalties_refuse_audit_change();

CREATE OR REPLACE FUNCTION penalties_check_shares_total() RETURNS trigger AS $$
DECLARE
    rid bigint;
    r record;
    total numeric;
BEGIN
    IF TG_TABLE_NAME = 'penalties_penaltyruling' THEN
        rid := NEW.id;
    ELSIF TG_OP = 'DELETE' THEN
        rid := OLD.ruling_id;
    ELSE
        rid := NEW.ruling_id;
    END IF;
    SELECT status, kind, number INTO r FROM penalties_penaltyruling WHERE id = rid;
    IF NOT FOUND OR r.status IN ('draft', 'cancelled') OR r.kind = 'reversal' THEN
        RETURN NULL;
    END IF;
    SELECT COALESCE(SUM(share_percent), 0) INTO total
        FROM penalties_penaltyline WHERE ruling_id = rid AND reverses_id IS NULL;
    IF total <> 100 THEN
        RAISE EXCEPTION 'penalties: the shares of ruling % add up to % %%, not 100 %%', r.number, total
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER penalties_line_shares_total
    AFTER INSERT OR UPDATE OR DELETE ON penalties_penaltyline
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION penalties_check_shares_total();

CREATE CONSTRAINT TRIGGER penalties_ruling_shares_total
    AFTER INSERT OR UPDATE ON penalties_penaltyruling
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION penalties_check_shares_total();
"""

PG_BACKWARD = r"""
DROP TRIGGER IF EXISTS penalties_ruling_shares_total ON penalties_penaltyruling;
DROP TRIGGER IF EXISTS penalties_line_shares_total ON penalties_penaltyline;
DROP FUNCTION IF EXISTS penalties_check_shares_total();
DROP TRIGGER IF EXISTS penalties_audit_append_only ON penalties_auditentry;
DROP FUNCTION IF EXISTS penalties_refuse_audit_change();
DROP TRIGGER IF EXISTS penalties_line_immutable ON penalties_penaltyline;
DROP FUNCTION IF EXISTS penalties_refuse_approved_line_change();
DROP TRIGGER IF EXISTS penalties_ruling_immutable ON penalties_penaltyruling;
DROP FUNCTION IF EXISTS penalties_refuse_approved_ruling_change();
"""

_APPROVED = "SELECT 1 FROM penalties_penaltyruling WHERE id = {ref}.ruling_id AND status = 'approved'"
_NO_BYPASS = "NOT EXISTS (SELECT 1 FROM penalties_trigger_bypass)"

SQLITE_FORWARD = [
    "CREATE TABLE IF NOT EXISTS penalties_trigger_bypass (reason TEXT NOT NULL)",
    """CREATE TRIGGER penalties_ruling_no_update BEFORE UPDATE ON penalties_penaltyruling
       FOR EACH ROW WHEN OLD.status = 'approved'
       BEGIN SELECT RAISE(ABORT, 'penalties: an approved ruling is immutable; make a correction'); END""",
    f"""CREATE TRIGGER penalties_ruling_no_delete BEFORE DELETE ON penalties_penaltyruling
       FOR EACH ROW WHEN OLD.status = 'approved' AND {_NO_BYPASS}
       BEGIN SELECT RAISE(ABORT, 'penalties: an approved ruling is immutable; make a correction'); END""",
    f"""CREATE TRIGGER penalties_line_no_insert BEFORE INSERT ON penalties_penaltyline
       FOR EACH ROW WHEN EXISTS ({_APPROVED.format(ref="NEW")})
       BEGIN SELECT RAISE(ABORT, 'penalties: an approved ruling takes no new lines'); END""",
    f"""CREATE TRIGGER penalties_line_no_update BEFORE UPDATE ON penalties_penaltyline
       FOR EACH ROW WHEN EXISTS ({_APPROVED.format(ref="OLD")}) OR EXISTS ({_APPROVED.format(ref="NEW")})
       BEGIN SELECT RAISE(ABORT, 'penalties: the lines of an approved ruling are immutable'); END""",
    f"""CREATE TRIGGER penalties_line_no_delete BEFORE DELETE ON penalties_penaltyline
       FOR EACH ROW WHEN EXISTS ({_APPROVED.format(ref="OLD")}) AND {_NO_BYPASS}
       BEGIN SELECT RAISE(ABORT, 'penalties: the lines of an approved ruling are immutable'); END""",
    """CREATE TRIGGER penalties_audit_no_update BEFORE UPDATE ON penalties_auditentry
       FOR EACH ROW BEGIN SELECT RAISE(ABORT, 'penalties: the audit trail is append-only'); END""",
    f"""CREATE TRIGGER penalties_audit_no_delete BEFORE DELETE ON penalties_auditentry
       FOR EACH ROW WHEN {_NO_BYPASS}
       BEGIN SELECT RAISE(ABORT, 'penalties: the audit trail is append-only'); END""",
]

SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS penalties_audit_no_delete",
    "DROP TRIGGER IF EXISTS penalties_audit_no_update",
    "DROP TRIGGER IF EXISTS penalties_line_no_delete",
    "DROP TRIGGER IF EXISTS penalties_line_no_update",
    "DROP TRIGGER IF EXISTS penalties_line_no_insert",
    "DROP TRIGGER IF EXISTS penalties_ruling_no_delete",
    "DROP TRIGGER IF EXISTS penalties_ruling_no_update",
    "DROP TABLE IF EXISTS penalties_trigger_bypass",
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
    dependencies = [("penalties", "0002_default_criteria")]

    # RunPython picks the statements for the database in use (RunSQL would need one dialect).
    operations = [migrations.RunPython(forward, backward)]
