import os

import pytest

from servicedesk.roles import Role

from .factories import OrgUnitFactory, UserFactory

# Playwright's sync API runs an event loop in the test thread; the ORM calls the
# tests make around it are still synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_collection_modifyitems(config, items):
    """In CI (SERVICEDESK_REQUIRE_ALL=1) a test that would skip fails instead: nothing is quietly left out."""
    if os.environ.get("SERVICEDESK_REQUIRE_ALL") != "1":
        return
    config.pluginmanager.register(_NoSkips(), "servicedesk-no-skips")


class _NoSkips:
    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        if report.skipped and not hasattr(report, "wasxfail"):
            report.outcome = "failed"
            report.longrepr = f"skipped in CI, where every test must run: {report.longrepr}"


def is_postgres():
    from django.db import connection

    return connection.vendor == "postgresql"


@pytest.fixture
def unit(db):
    return OrgUnitFactory(code="sh-centre", name="Shanghai Service Centre")


@pytest.fixture
def other_unit(db):
    return OrgUnitFactory(code="sz-branch", name="Suzhou Branch", kind="branch")


@pytest.fixture
def head_office(db):
    return OrgUnitFactory(code="service-dept", name="Service Department", kind="service_department")


@pytest.fixture
def dispatcher(unit):
    return UserFactory(username="dispatcher", unit=unit, roles=[Role.DISPATCHER])


@pytest.fixture
def technician(unit):
    return UserFactory(username="tech", unit=unit, roles=[Role.TECHNICIAN])


@pytest.fixture
def supervisor(unit):
    return UserFactory(username="supervisor", unit=unit, roles=[Role.SUPERVISOR])


@pytest.fixture
def other_dispatcher(other_unit):
    return UserFactory(username="sz-dispatcher", unit=other_unit, roles=[Role.DISPATCHER])


@pytest.fixture
def other_technician(other_unit):
    return UserFactory(username="sz-tech", unit=other_unit, roles=[Role.TECHNICIAN])


@pytest.fixture
def head_office_user(head_office):
    return UserFactory(username="servicedept", unit=head_office, roles=[Role.SERVICE_DEPARTMENT])
