"""Which database a read goes to: the period reports may read the replica, everything else reads the primary.

A streaming replica lags the primary by a little (usually well under a second, more under heavy write load or
after a network hiccup). That is harmless for a report over a closed period (a month's appraisal, the penalty
ledger, the complaint case statistics): nobody reads a report to see the change they made a moment ago, and
the heavy grouped queries are better kept off the primary. It is not harmless for a form, a workflow page or a
reconciliation: they read what the user has just written, lock rows and check state before changing it, so
they always read the primary (``default``). Hence no database router: each report selector asks for
``reports_db()`` explicitly, and whatever does not ask reads the primary.

Read from the replica (each through ``reports_db()``):

- complaints: the monthly technician appraisal, its trend and its CSV/Excel/PDF exports (``complaints.appraisal``);
  the complaint case reports and their exports (``complaints.case_selectors.case_report``);
- penalties: the monthly ledger and its exports (``penalties.selectors.ledger``).

Deliberately not: the carry-in register (the products in our hands *now*, checked right after booking one in
or releasing it), the penalty audit trail (read to see that one's own change was recorded), the fee
reconciliation (confirmed from what it shows), and every list that leads to an action.
"""

import logging

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

from .pauses import Pause

REPLICA_DB_ALIAS = "replica"
# After the replica failed to answer, this process reads the primary for a while before trying again:
# an unreachable host costs one connect timeout per process and pause, not one per report query.
replica_pause = Pause("reports replica")

logger = logging.getLogger(__name__)


def replica_configured() -> bool:
    return REPLICA_DB_ALIAS in connections


def reports_db() -> str:
    """The alias a report reads: the replica when there is one and it answers, else the primary.

    A replica that is down must not take the reports down with it: they fall back to the primary (slower for
    everyone while it lasts, and logged, so it gets noticed) rather than fail. ``/readyz`` reports it too.
    """
    if not replica_configured() or replica_pause.active():
        return DEFAULT_DB_ALIAS
    try:
        # Connects if needed; with CONN_HEALTH_CHECKS an open connection is checked once per request.
        connections[REPLICA_DB_ALIAS].ensure_connection()
    except DatabaseError as exc:
        replica_pause.start()
        logger.warning(
            "The reports replica is unavailable (%s); reports read the primary for %s s.",
            type(exc).__name__,
            replica_pause.seconds,
        )
        return DEFAULT_DB_ALIAS
    return REPLICA_DB_ALIAS


def read_unreadable_dates_as_bounds(sender, connection, **kwargs):
    """A stored date or time Python cannot hold (BC, or beyond year 9999) reads as the edge of the range.

    Forms refuse such values now (servicedesk.bounds), but a row stored before, e.g. a complaint received at
    0001-01-01 00:00 in Asia/Shanghai, which PostgreSQL keeps as a BC timestamp in UTC, made the driver raise
    on every page that listed it. Read as DATE_MIN (or DATE_MAX), the row shows, visibly wrong, and can be
    corrected; nothing is written back. Registered on each new PostgreSQL connection (``connection_created``).
    """
    if connection.vendor != "postgresql":
        return
    import datetime as dt

    import psycopg2.extensions as pg

    from .bounds import DATE_MAX, DATE_MIN

    def tolerant(base, *, low, high):
        def cast(value, cursor):
            try:
                return base(value, cursor)
            except (ValueError, OverflowError):
                return low if value.rstrip().endswith("BC") else high

        return pg.new_type(base.values, f"{base.name}_BOUNDED", cast)

    first, last = dt.datetime.combine(DATE_MIN, dt.time.min), dt.datetime.combine(DATE_MAX, dt.time.max)
    for base, low, high in (
        (pg.PYDATE, DATE_MIN, DATE_MAX),
        (pg.PYDATETIME, first, last),
        (pg.PYDATETIMETZ, first.replace(tzinfo=dt.UTC), last.replace(tzinfo=dt.UTC)),
    ):
        pg.register_type(tolerant(base, low=low, high=high), connection.connection)
