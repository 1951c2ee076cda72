"""The reports read the replica; forms, workflow and the month-end job read the primary (servicedesk/db.py).

The test settings always define the ``replica`` alias as a test mirror of the test database, and
tests/conftest.py lets it read a test's own rows, so every report test in the suite goes through it. Here the
queries of each connection are captured to show which pages use which.
"""

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import DEFAULT_DB_ALIAS, OperationalError, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from complaints.services.appraisal import appraisal_months_record
from repairs import services as repair_services
from servicedesk import db as servicedesk_db
from servicedesk.db import REPLICA_DB_ALIAS, reports_db
from servicedesk.models import OrgUnit
from servicedesk.roles import Role
from tests.factories import OrgUnitFactory, UserFactory, log_call
from tests.penalties.conftest import approved_ruling, make_ruled_case

BASE_DIR = Path(__file__).resolve().parents[2]


@pytest.fixture
def reports_world(unit, dispatcher, technician):
    """A call handled by the technician this month and an approved penalty on them: something in every report."""
    call = log_call(dispatcher=dispatcher)
    repair_services.repair_call_dispatch(user=dispatcher, call_id=call.pk, technician=technician)
    gm_unit = OrgUnitFactory(code="gm-office", name="GM Office", kind=OrgUnit.Kind.HEAD_OFFICE)
    quality = OrgUnitFactory(code="quality", name="Quality Management", kind=OrgUnit.Kind.HEAD_OFFICE)
    gm_office = UserFactory(username="gmoffice", unit=gm_unit, roles=[Role.GM_OFFICE])
    manager = UserFactory(username="depthead", unit=quality, roles=[Role.DEPARTMENT_HEAD])
    case = make_ruled_case(unit=unit, responsible_person=technician, costs=["100"])
    ruling = approved_ruling(case=case, by=gm_office, approver=manager)
    client = Client()
    client.force_login(gm_office)
    return {"client": client, "call": call, "case": case, "ruling": ruling, "gm_office": gm_office}


def _queries(client, url, params=None):
    """The response, and the SQL each alias ran for it."""
    with (
        CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as primary,
        CaptureQueriesContext(connections[REPLICA_DB_ALIAS]) as replica,
    ):
        response = client.get(url, params or {})
    return response, [q["sql"] for q in primary.captured_queries], [q["sql"] for q in replica.captured_queries]


def _reads(queries, table):
    return [sql for sql in queries if f'"{table}"' in sql]


def _report_pages(unit):
    month = timezone.localdate().strftime("%Y-%m")
    appraisal = {"unit": unit.pk, "month": month}
    ledger = {"month": month, "party": "person"}
    # (url, params, the tables the report aggregates: read on the replica only)
    appraisal_tables = ["repairs_repaircall", "complaints_surveycard", "complaints_customeropinion"]
    return [
        (reverse("complaints:appraisal"), appraisal, [*appraisal_tables, "penalties_penaltyline"]),
        *[
            (reverse("complaints:appraisal_export", args=[fmt]), appraisal, appraisal_tables)
            for fmt in ("csv", "xlsx", "pdf")
        ],
        (reverse("complaints:case_reports"), {}, ["complaints_complaintcase", "servicedesk_statuschange"]),
        *[
            (reverse("complaints:case_reports_export", args=[fmt]), {}, ["complaints_complaintcase"])
            for fmt in ("csv", "xlsx")
        ],
        (reverse("penalties:ledger"), ledger, ["penalties_penaltyline"]),
        *[
            (reverse("penalties:ledger_export", args=[fmt]), ledger, ["penalties_penaltyline"])
            for fmt in ("csv", "xlsx")
        ],
    ]


def test_every_report_reads_its_figures_from_the_replica(reports_world, unit):
    client = reports_world["client"]
    for url, params, tables in _report_pages(unit):
        response, primary, replica = _queries(client, url, params)
        assert response.status_code == 200, url
        for table in tables:
            assert _reads(replica, table), f"{url} does not read {table} on the replica"
            assert not _reads(primary, table), f"{url} reads {table} on the primary: {_reads(primary, table)}"


def test_the_replica_sees_the_rows_the_test_wrote(reports_world, unit, technician):
    """Through the replica alias the report shows this test's own (uncommitted) call and penalty."""
    client = reports_world["client"]
    month = timezone.localdate().strftime("%Y-%m")
    ledger = client.get(reverse("penalties:ledger"), {"month": month, "party": "person"})
    assert technician.first_name in ledger.text
    rows = client.get(reverse("complaints:appraisal_export", args=["csv"]), {"unit": unit.pk, "month": month})
    line = next(row for row in rows.content.decode("utf-8-sig").splitlines() if technician.first_name in row)
    assert line.split(",")[1] == "1"  # one call handled
    assert client.get(reverse("complaints:case_reports")).context["report"]["total"] == 1


@pytest.mark.parametrize(
    "page",
    ["call_detail", "board", "case_detail", "ruling_detail", "register", "ruling_list", "audit_list"],
)
def test_workflow_pages_read_only_the_primary(reports_world, page):
    urls = {
        "call_detail": reverse("repairs:call_detail", args=[reports_world["call"].pk]),
        "board": reverse("repairs:board"),
        "case_detail": reverse("complaints:case_detail", args=[reports_world["case"].pk]),
        "ruling_detail": reverse("penalties:ruling_detail", args=[reports_world["ruling"].pk]),
        "register": reverse("repairs:register"),
        "ruling_list": reverse("penalties:ruling_list"),
        "audit_list": reverse("penalties:audit_list"),
    }
    client = reports_world["client"]
    reports_world["gm_office"].is_superuser = True  # sees every page, so each one runs its queries
    reports_world["gm_office"].save(update_fields=["is_superuser"])
    response, primary, replica = _queries(client, urls[page])
    assert response.status_code == 200
    assert primary and replica == []


def test_the_month_end_job_records_the_appraisal_from_the_primary(reports_world):
    with CaptureQueriesContext(connections[REPLICA_DB_ALIAS]) as replica:
        appraisal_months_record(now=timezone.now() + dt.timedelta(days=40))
    assert replica.captured_queries == []


def test_the_reports_fall_back_to_the_primary_when_the_replica_is_down(reports_world, unit, technician, monkeypatch):
    def down(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(connections[REPLICA_DB_ALIAS], "ensure_connection", down)
    assert reports_db() == DEFAULT_DB_ALIAS
    month = timezone.localdate().strftime("%Y-%m")
    # Any query on the replica would fail now: the page reads the primary.
    with CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as primary:
        response = reports_world["client"].get(reverse("penalties:ledger"), {"month": month, "party": "person"})
    assert response.status_code == 200 and technician.first_name in response.text
    assert _reads([q["sql"] for q in primary.captured_queries], "penalties_penaltyline")
    # Readiness shows it, but the machine stays in the pool: every machine shares the replica.
    ready = Client().get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"ready": True, "database": "ok", "broker": "ok", "replica": "error: OperationalError"}


def test_after_the_replica_failed_reports_read_the_primary_for_a_while_without_trying_it(db, monkeypatch):
    attempts = []

    def down(*args, **kwargs):
        attempts.append(1)
        raise OperationalError("connection timed out")

    monkeypatch.setattr(connections[REPLICA_DB_ALIAS], "ensure_connection", down)
    assert [reports_db() for _ in range(3)] == [DEFAULT_DB_ALIAS] * 3
    assert len(attempts) == 1  # one connect timeout, not one per report
    monkeypatch.undo()  # the replica answers again ...
    assert reports_db() == DEFAULT_DB_ALIAS  # ... but this process waits out the pause
    servicedesk_db.replica_pause.end()  # the pause is over
    assert reports_db() == REPLICA_DB_ALIAS


@pytest.mark.django_db(transaction=True)
def test_committed_rows_are_read_through_a_session_of_the_replicas_own(unit, dispatcher, technician):
    """Outside a test's transaction the replica alias has its own session, as in production."""
    log_call(dispatcher=dispatcher)
    head = UserFactory(username="gmoffice", unit=OrgUnitFactory(code="gm", kind="head_office"), roles=[Role.GM_OFFICE])
    client = Client()
    client.force_login(head)
    response, _primary, replica = _queries(client, reverse("complaints:case_reports"))
    assert response.status_code == 200 and replica
    default, mirror = connections[DEFAULT_DB_ALIAS], connections[REPLICA_DB_ALIAS]
    assert mirror.connection is not None and mirror.connection is not default.connection
    assert mirror.settings_dict["NAME"] == default.settings_dict["NAME"]  # the test database, never a real one
    if default.vendor == "postgresql":
        with default.cursor() as a, mirror.cursor() as b:
            a.execute("SELECT pg_backend_pid()")
            b.execute("SELECT pg_backend_pid()")
            assert a.fetchone() != b.fetchone()


# --- Settings ---------------------------------------------------------------------------------------------------


def _databases(tmp_path, **env):
    """settings.DATABASES as a fresh process reads it from this environment."""
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            "import json; from django.conf import settings; print(json.dumps(settings.DATABASES, default=str))",
        ],
        cwd=BASE_DIR,
        env={
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(tmp_path),
            "LANG": "C.UTF-8",
            "DJANGO_SETTINGS_MODULE": "servicedesk.settings",
            "SERVICEDESK_VAR_DIR": str(tmp_path / "var"),
            "DJANGO_DEBUG": "1",
            # Set, even if empty, so a developer's .env (read without overwriting) cannot change the run.
            "REDIS_URL": "",
            "DATABASE_REPLICA_URL": "",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_replica_alias_exists_only_when_a_replica_url_is_set(tmp_path):
    primary = "postgres://app:secret@db-primary:5432/servicedesk"
    assert list(_databases(tmp_path, DATABASE_URL=primary)) == ["default"]
    databases = _databases(
        tmp_path, DATABASE_URL=primary, DATABASE_REPLICA_URL="postgres://reader:secret@db-replica:5432/servicedesk"
    )
    assert list(databases) == ["default", "replica"]
    default, replica = databases["default"], databases["replica"]
    assert (replica["HOST"], replica["USER"], replica["NAME"]) == ("db-replica", "reader", "servicedesk")
    # Configured like the primary: persistent, health-checked, a connect timeout.
    for key in ("ENGINE", "CONN_MAX_AGE", "CONN_HEALTH_CHECKS", "OPTIONS", "ATOMIC_REQUESTS"):
        assert replica[key] == default[key], key
    assert replica["OPTIONS"]["connect_timeout"] == 5 and replica["CONN_HEALTH_CHECKS"] is True
    # A test run never creates a test replica.
    assert replica["TEST"]["MIRROR"] == "default"
