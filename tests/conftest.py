import os
import uuid

import pytest
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS
from django.utils import translation

from servicedesk.db import REPLICA_DB_ALIAS
from servicedesk.roles import Role

from .factories import OrgUnitFactory, UserFactory

# Playwright's sync API runs an event loop in the test thread; the ORM calls the
# tests make around it are still synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_collection_modifyitems(config, items):
    """In CI (SERVICEDESK_REQUIRE_ALL=1) a test that would skip fails instead: nothing is quietly left out."""
    _database_markers(items)
    if os.environ.get("SERVICEDESK_REQUIRE_ALL") != "1":
        return
    config.pluginmanager.register(_NoSkips(), "servicedesk-no-skips")


def _database_markers(items):
    """Every transactional test restores migrated data and may read the reports replica.

    Transactional tests (transaction=True, transactional_db, live_server) get serialized_rollback. Such a
    test empties every table when it ends. Rows made by migrations (zones, groups and their permissions) are
    restored only for tests with serialized_rollback, and one test without it among tests with it breaks the
    restore for all that follow (its flush re-creates the groups under new ids). So all of them restore,
    whether or not the test says so.

    The reports read the ``replica`` alias (servicedesk/db.py), a mirror of the test database in the test
    settings. A transactional test lists it, and it reads the committed rows through its own session. Other
    tests do not list it (Django would open a transaction of its own on it, which could not see the test's
    rows): for them, ``_replica_reads_the_tests_own_rows`` below lends it the default alias's session.
    """
    positional = ("transaction", "reset_sequences", "databases", "serialized_rollback", "available_apps")
    for item in items:
        marker = item.get_closest_marker("django_db")
        kwargs = {**dict(zip(positional, marker.args, strict=False)), **marker.kwargs} if marker else {}
        names = item.fixturenames
        transactional = kwargs.get("transaction") or "transactional_db" in names or "live_server" in names
        if not transactional:
            continue
        kwargs.update(transaction=True, serialized_rollback=True)
        if kwargs.get("databases") != "__all__":
            kwargs["databases"] = sorted({*(kwargs.get("databases") or [DEFAULT_DB_ALIAS]), REPLICA_DB_ALIAS})
        item.add_marker(pytest.mark.django_db(**kwargs), append=False)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup):
    """The test database's serialized contents, visible from every connection object of this thread.

    While Playwright's sync API runs, an event loop counts as running in the test thread, and Django
    hands the thread a different connection object (one per async context). serialized_rollback reads
    the contents from the connection object, so without this a browser test would not restore them.

    The replica alias reads the test database in every run (Django points a mirror there only when a test
    lists it), and its session is closed at the end: an open one would stop the test database being dropped.
    """
    from django.db import connections

    connection = connections[DEFAULT_DB_ALIAS]
    contents = getattr(connection, "_test_serialized_contents", None)
    if contents is not None:
        type(connection)._test_serialized_contents = contents
    connections[REPLICA_DB_ALIAS].creation.set_as_test_mirror(connection.settings_dict)
    yield
    connections[REPLICA_DB_ALIAS].close()


@pytest.fixture(autouse=True)
def _replica_reads_the_tests_own_rows(request):
    """Inside a test's transaction, the replica alias reads through the default alias's session.

    A test (pytest-django's ``db``) runs in a transaction that is rolled back at its end, so its rows are
    never committed and another session, such as the replica alias's own, would not see them. So for the
    test, the replica alias's connection object uses the default's database session: it keeps its own
    alias and query log (tests/servicedesk/test_db.py counts the queries on each); it is let through
    Django's guard on aliases a test does not list for queries only (opening a session of its own stays
    refused), and closing it only lets go of the session. A transactional test commits its rows and lists
    the replica: it reads them through a session of its own, a real second connection as in production.
    """
    if request.node.get_closest_marker("django_db") is None and "db" not in request.fixturenames:
        yield
        return
    request.getfixturevalue("db")
    from django.db import connections

    default, replica = connections[DEFAULT_DB_ALIAS], connections[REPLICA_DB_ALIAS]
    # Django's guard on an alias the test does not list: the wrapped method is its ``wrapped``.
    guards = {name: getattr(replica, name) for name in ("cursor", "chunked_cursor")}
    if not default.in_atomic_block or not all(hasattr(guard, "wrapped") for guard in guards.values()):
        yield
        return
    own_session = replica.connection
    replica.connection = default.connection
    replica._close = lambda: None  # the session is the default's to close
    for name, guard in guards.items():
        setattr(replica, name, guard.wrapped)
    try:
        yield
    finally:
        for name, guard in guards.items():
            setattr(replica, name, guard)
        del replica._close
        replica.connection = own_session


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
    from django.core.cache import caches

    from complaints import case_page_cache
    from repairs import board_cache
    from servicedesk import backends

    monkeypatch.setattr(board_cache, "NAMESPACE", f"board-test-{uuid.uuid4().hex}")
    monkeypatch.setattr(case_page_cache, "NAMESPACE", f"case-page-test-{uuid.uuid4().hex}")
    monkeypatch.setattr(backends, "NAMESPACE", f"perms-test-{uuid.uuid4().hex}")
    caches["local"].clear()  # per-process fragments and filter options: SQLite reuses ids across tests


@pytest.fixture(autouse=True)
def _the_site_language_in_every_test():
    """Each test starts in the site's language: a test that activates Chinese (or a request that did, in this
    thread) must not make the next test's messages Chinese."""
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _no_pause_across_tests():
    """A failure pauses a service for this process (servicedesk.pauses): never into the next test."""
    from servicedesk.pauses import Pause

    Pause.end_all()
    yield
    Pause.end_all()


@pytest.fixture(autouse=True)
def _sms_outbox_per_test():
    """servicedesk.sms.outbox (the memory backend's sent messages) starts empty in each test, like mail.outbox."""
    from servicedesk import sms

    sms.outbox.clear()
    yield
    sms.outbox.clear()


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
