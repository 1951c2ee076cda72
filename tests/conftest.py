import os
import uuid

import pytest

from servicedesk.roles import Role

from .factories import OrgUnitFactory, UserFactory

# Playwright's sync API runs an event loop in the test thread; the ORM calls the
# tests make around it are still synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_collection_modifyitems(config, items):
    """In CI (SERVICEDESK_REQUIRE_ALL=1) a test that would skip fails instead: nothing is quietly left out."""
    _restore_migrated_data_after_transactional_tests(items)
    if os.environ.get("SERVICEDESK_REQUIRE_ALL") != "1":
        return
    config.pluginmanager.register(_NoSkips(), "servicedesk-no-skips")


def _restore_migrated_data_after_transactional_tests(items):
    """Every transactional test (transaction=True, transactional_db, live_server) gets serialized_rollback.

    Such a test empties every table when it ends. Rows made by migrations (zones, groups and their
    permissions) are restored only for tests with serialized_rollback, and one test without it among
    tests with it breaks the restore for all that follow (its flush re-creates the groups under new ids).
    So all of them restore, whether or not the test says so.
    """
    positional = ("transaction", "reset_sequences", "databases", "serialized_rollback", "available_apps")
    for item in items:
        marker = item.get_closest_marker("django_db")
        kwargs = {**dict(zip(positional, marker.args, strict=False)), **marker.kwargs} if marker else {}
        names = item.fixturenames
        transactional = kwargs.get("transaction") or "transactional_db" in names or "live_server" in names
        if transactional and not kwargs.get("serialized_rollback"):
            kwargs.update(transaction=True, serialized_rollback=True)
            item.add_marker(pytest.mark.django_db(**kwargs), append=False)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup):
    """The test database's serialized contents, visible from every connection object of this thread.

    While Playwright's sync API runs, an event loop counts as running in the test thread, and Django
    hands the thread a different connection object (one per async context). serialized_rollback reads
    the contents from the connection object, so without this a browser test would not restore them.
    """
    from django.db import connections

    connection = connections["default"]
    contents = getattr(connection, "_test_serialized_contents", None)
    if contents is not None:
        type(connection)._test_serialized_contents = contents
    yield


class _NoSkips:
    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        if report.skipped and not hasattr(report, "wasxfail"):
            report.outcome = "failed"
            report.longrepr = f"skipped in CI, where every test must run: {report.longrepr}"


@pytest.fixture(autouse=True)
def _board_cache_per_test(monkeypatch):
    """Each test starts with an empty dispatch-board cache: its own key namespace, since the
    cache (locmem, or Redis in CI) outlives a test's rolled-back data and SQLite reuses ids."""
    from repairs import board_cache

    monkeypatch.setattr(board_cache, "NAMESPACE", f"board-test-{uuid.uuid4().hex}")
    monkeypatch.setattr(board_cache, "_paused_until", 0.0)


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
