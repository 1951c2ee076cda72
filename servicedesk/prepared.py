"""Reads a page makes on every request, compiled once per process and, on PostgreSQL, planned once per connection.

The call page's one-row read joins eight tables. For each request Django compiled it (1.4 ms) and PostgreSQL
planned it (1.6 ms, weighing every order of the joins) to execute it in 0.1 ms (issue 17). A ``PreparedRead``
compiles its queryset once per process with stand-in values for its parameters, remembers where each parameter
goes, and on PostgreSQL sends ``PREPARE`` once per database connection and ``EXECUTE`` after that: the server
keeps the plan (a generic one after five executions). Elsewhere (SQLite, or with the setting
``DATABASE_PREPARED_STATEMENTS`` off, as behind a transaction-mode pooler) the compiled SQL is sent as it is.
The rows become model instances exactly as Django's own iterable makes them, ``select_related`` rows included.

- ``PreparedRead(name, build)``: ``build(**values)`` returns the queryset; each value is an ``int`` (a primary
  key, a unit) or ``None`` when that filter does not apply. The set of names given (not None) is the read's
  shape; each shape is compiled on its own. A queryset with prefetches, ``extra()`` or a slice is refused.
- ``read.fetch(**values)``: the list of instances (none for a value beyond 64 bits, which no key can hold).

Scoping stays the caller's: ``build`` filters by the values it receives (a unit, a technician), and what a user
may see is decided before (``servicedesk.scoping.scope_unit_of``).

Only for reads whose SQL does not depend on the data (no ``IN`` over a list, no values of another query).
The statement's text holds no user input: every value is a parameter.
"""

import re
import threading
from collections.abc import Callable

from django.conf import settings
from django.db import connections
from django.db.models import QuerySet
from django.db.models.query import get_related_populators

# Stand-in values: distinct per parameter, within every integer column's range (Django finds nothing for a value
# outside a field's range, e.g. a negative one for a PositiveIntegerField), far above any row this desk will have.
_STAND_IN_BASE = 2_147_480_000
_PLACEHOLDER = re.compile(r"%%|%s")
# Every value is compared with a 64-bit column (the keys are BigAutoField); one beyond that range matches no row,
# as Django's own lookups decide, instead of the server's "out of range" error.
_INT64 = range(-(2**63), 2**63)


class _Compiled:
    """One shape of a read: its SQL, where each value goes, and how rows become instances."""

    def __init__(self, queryset: QuerySet, stand_ins: dict[str, int], using: str):
        query = queryset.query
        if queryset._prefetch_related_lookups or query.extra or query.low_mark or query.high_mark is not None:
            raise ValueError("a prepared read takes a plain queryset (no prefetch, extra() or slice)")
        self.compiler = query.get_compiler(using=using)
        sql, params = self.compiler.as_sql()
        self.sql = sql
        self.params = list(params)
        self.slots: list[tuple[int, str]] = []
        by_value = {value: name for name, value in stand_ins.items()}
        for position, value in enumerate(self.params):
            if isinstance(value, int) and value in by_value:
                self.slots.append((position, by_value[value]))
        missing = set(stand_ins) - {name for _, name in self.slots}
        if missing:
            raise ValueError(f"the queryset does not use {sorted(missing)}")
        klass_info = self.compiler.klass_info
        select = self.compiler.select
        self.model = klass_info["model"]
        start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
        self.bounds = (start, end)
        self.init_list = [column[0].target.attname for column in select[start:end]]
        self.annotations = dict(self.compiler.annotation_col_map or {})
        self.klass_info = klass_info
        self.select = select

    def params_for(self, values: dict[str, int]) -> list:
        params = list(self.params)
        for position, name in self.slots:
            params[position] = values[name]
        return params

    def instances(self, rows, using: str) -> list:
        populators = get_related_populators(self.klass_info, self.select, using)
        start, end = self.bounds
        out = []
        for row in self.compiler.results_iter(results=[rows]):
            obj = self.model.from_db(using, self.init_list, row[start:end])
            for populator in populators:
                populator.populate(row, obj)
            for attr_name, position in self.annotations.items():
                setattr(obj, attr_name, row[position])
            out.append(obj)
        return out


def _postgresql_text(sql: str) -> str:
    """Django's ``%s`` placeholders as ``$1``, ``$2``…, its ``%%`` as the ``%`` it stands for."""
    counter = iter(range(1, 10_000))
    return _PLACEHOLDER.sub(lambda m: "%" if m.group(0) == "%%" else f"${next(counter)}", sql)


class PreparedRead:
    def __init__(self, name: str, build: Callable[..., QuerySet], using: str = "default"):
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,40}", name):
            raise ValueError("a prepared read's name is a short lower-case identifier")
        self.name = name
        self.build = build
        self.using = using
        self._shapes: dict[frozenset, _Compiled] = {}
        self._lock = threading.Lock()

    def _compiled(self, names: frozenset, all_names: tuple[str, ...]) -> _Compiled:
        compiled = self._shapes.get(names)
        if compiled is None:
            with self._lock:
                stand_ins = {name: _STAND_IN_BASE - i for i, name in enumerate(sorted(names))}
                values = {name: stand_ins.get(name) for name in all_names}
                compiled = _Compiled(self.build(**values), stand_ins, self.using)
                self._shapes[names] = compiled
        return compiled

    def statement_name(self, names: frozenset) -> str:
        return f"sd_{self.name}_{'_'.join(sorted(names)) or 'all'}"[:63]

    def fetch(self, **values) -> list:
        for name, value in values.items():
            if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
                raise TypeError(f"{name}: a prepared read takes int values")
            if value is not None and value not in _INT64:
                return []
        names = frozenset(name for name, value in values.items() if value is not None)
        compiled = self._compiled(names, tuple(values))
        params = compiled.params_for(values)
        connection = connections[self.using]
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql" and settings.DATABASE_PREPARED_STATEMENTS:
                statement = self.statement_name(names)
                prepared = _prepared_on(connection)
                if statement not in prepared:
                    cursor.execute(f"PREPARE {statement} AS {_postgresql_text(compiled.sql)}")
                    prepared.add(statement)
                if params:
                    cursor.execute(f"EXECUTE {statement} ({', '.join(['%s'] * len(params))})", params)
                else:
                    cursor.execute(f"EXECUTE {statement}")
            else:
                cursor.execute(compiled.sql, params)
            rows = cursor.fetchall()
        return compiled.instances(rows, self.using)


def _prepared_on(connection) -> set:
    """The statements prepared on the connection's current session (a new session starts with none)."""
    raw = connection.connection
    kept = getattr(connection, "_servicedesk_prepared", None)
    if kept is None or kept[0] is not raw:
        kept = (raw, set())
        connection._servicedesk_prepared = kept
    return kept[1]
