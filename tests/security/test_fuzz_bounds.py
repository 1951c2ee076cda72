"""Values at and beyond every column's bounds, through every form and query string, on PostgreSQL (issue 12).

test_fuzz_forms.py throws random junk at the forms; this one aims at the edges the database cares about,
where SQLite would quietly store what PostgreSQL refuses (NUMERIC overflow, dates before year 1):

1. Every POST form of every page (found by walking the URL configuration, as test_matrix.py does, so a new
   view is covered without a line here) is filled with valid values, then each number, date, datetime and
   month field in turn is set to a value at or beyond the bounds: the column's largest value (the input's
   ``max``) and one step more, more digits than any column, 1e26, huge exponents, NaN, sNaN, Infinity,
   negative zero, the smallest and largest dates of the range and 0001-01-01 / 9999-12-31. One more post
   sets every number to its ``max`` at once (products and sums of fields must fit their column too).
   Never a 5xx; and when the answer is a refusal (not a redirect), no table has a row more or less.
2. Every query-string parameter a page reads (the fields of its GET forms, and those its view reads from
   ``request.GET``) gets the same edge values: never a 5xx.
3. Rows at the extremes of each column (largest Decimals and integers, 1900-01-01 and 2999-12-31 dates,
   datetimes at the edges, and a stored 0001-01-01) are written straight into the tables, and every page that
   answered before, lists, details, PDFs and exports, must still answer, not a 5xx.

Each post runs in a savepoint that is rolled back. Failures name the URL, the field and the value.
"""

import datetime as dt
import inspect
import re
import time
from collections import Counter
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.apps import apps
from django.core.cache import cache
from django.db import DatabaseError, connection, models, transaction
from django.db.models.expressions import RawSQL
from django.utils import timezone

from servicedesk import bounds
from servicedesk.roles import Role
from tests.conftest import is_postgres
from tests.factories import UserFactory

from .conftest import ROLES
from .forms import NOT_DATA, post_forms
from .test_fuzz_forms import _same_page, _variant_urls
from .test_matrix import PUBLIC, _urls, site_routes

pytestmark = [pytest.mark.postgres]

PROJECT_APPS = {"servicedesk", "repairs", "contracts", "complaints", "penalties", "parts", "records", "dashboard"}

# Sampled per kind of field, so that every form gets each class of edge once or twice (a few minutes in all).
# Number fields also get their own ``max`` (the column's largest value) and one step beyond it.
NUMBERS = ["9999999999999.999", "1e26", "1E+999999", "NaN", "sNaN", "-Infinity", "-0", "2147483648"]
DATES = ["1900-01-01", "2999-12-31", "0001-01-01", "9999-12-31"]
DATETIMES = ["1900-01-01T00:00", "2999-12-31T23:59", "0001-01-01T00:00", "9999-12-31T23:59"]
MONTHS = ["2999-12", "0001-01", "9999-12"]
EDGE_VALUES = {"number": NUMBERS, "date": DATES, "datetime-local": DATETIMES, "month": MONTHS}

# Query-string values: every kind at once, for parameters whose kind the page does not say.
QUERY_VALUES = ["9999-12-31", "0001-01-01", "9999-12", "1e26", "NaN", "9" * 30]
CURSORS = [  # the board's (attended, microseconds since 1970, id): beyond the calendar and the id column
    "0_-62135596800000000_1",
    "1_253402300799000000_9223372036854775808",
]
# Parameters the views read; found in their source below, these only widen the net.
READS = re.compile(r"""request\.GET(?:\.get\(|\[)\s*["'](\w+)["']""")


class _Inputs(HTMLParser):
    """Every form of a page: method, action and each named field's attributes (type, max, min, value...)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms = []
        self._form = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._form = {"method": (a.get("method") or "get").lower(), "action": a.get("action") or "", "fields": {}}
            self.forms.append(self._form)
        elif self._form is not None and tag in ("input", "select", "textarea") and a.get("name"):
            kind = (a.get("type") or "text").lower() if tag == "input" else tag
            if kind not in ("submit", "button", "image", "reset"):
                self._form["fields"].setdefault(a["name"], {**a, "type": kind})

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None


def _inputs(html: str):
    parser = _Inputs()
    parser.feed(html)
    return parser.forms


def _row_counts():
    """Row counts of every table of the project's apps, in one query."""
    tables = sorted(
        m._meta.db_table
        for m in apps.get_models()
        if m._meta.app_label in PROJECT_APPS and m._meta.managed and not m._meta.proxy
    )
    with connection.cursor() as cursor:
        # Table names from the model registry, quoted.
        counts = ", ".join(f"(SELECT count(*) FROM {connection.ops.quote_name(t)})" for t in tables)  # noqa: S608
        cursor.execute(f"SELECT {counts}")
        return dict(zip(tables, cursor.fetchone(), strict=True))


def _now_local():
    return timezone.localtime().replace(second=0, microsecond=0) - dt.timedelta(minutes=5)


def _valid(name: str, attrs: dict, form) -> str | None:
    """A value the field accepts (so the post gets past the other fields to the one under test)."""
    kind = attrs.get("type")
    if name in form.values:
        return form.values[name]
    if kind == "select":
        options = [o for o in form.options.get(name, []) if o]
        return options[0] if options else None
    if kind in ("checkbox", "radio", "file"):
        return None
    if kind == "number":
        low = attrs.get("min")
        return low if low not in (None, "", "0") else "1"
    if kind == "date":
        return timezone.localdate().isoformat()
    if kind == "datetime-local":
        return _now_local().strftime("%Y-%m-%dT%H:%M")
    if kind == "month":
        return timezone.localdate().strftime("%Y-%m")
    if kind == "email":
        return "bounds@example.com"
    if "phone" in name or kind == "tel":
        return "021-12345678"
    return "Bounds test 1"


def _edge_posts(form, attrs_of: dict):
    """(what, data) for each post: each edge value in each bounded field, then every number at its max."""
    names = [n for n in form.fields if n not in NOT_DATA]
    base = {}
    for name in names:
        value = _valid(name, attrs_of.get(name, {"type": form.fields[name]}), form)
        if value is not None:
            base[name] = value
    bounded = [(n, attrs_of.get(n, {}).get("type")) for n in names if attrs_of.get(n, {}).get("type") in EDGE_VALUES]
    for name, kind in bounded:
        values = list(EDGE_VALUES[kind])
        top = attrs_of[name].get("max")
        if kind == "number" and top:
            step = attrs_of[name].get("step") or "1"
            values = [top, str(Decimal(top) + (Decimal(step) if step != "any" else Decimal(1))), *values]
        for value in values:
            yield f"{name}={value}", {**base, name: value}
    numbers = [n for n, kind in bounded if kind == "number"]
    if numbers:
        yield "every number at its max", {**base, **{n: attrs_of[n].get("max") or "99999999.99" for n in numbers}}


def _post(client, action, data):
    with transaction.atomic():
        before = _row_counts()
        response = client.post(action, data)
        after = _row_counts() if response.status_code < 500 else before
        transaction.set_rollback(True)
    return response, {t: (before[t], after[t]) for t in before if before[t] != after[t]}


# Who opens the pages: a user of unit B (the objects' owner) holding every role sees every form of the unit's
# pages, a head-office user holding every role the rest (two users, not one per role: the walk stays fast).
VIEWERS = ["bounds-B-all", "bounds-HO-all"]


@pytest.fixture(scope="module")
def viewers(world):
    for principal, unit in zip(VIEWERS, (world.unit_b, world.head_office), strict=True):
        world.users[principal] = UserFactory(username=principal.lower(), unit=unit, roles=ROLES)
        world.client(principal)
    return VIEWERS


def _discover(world, url, public):
    """(principal, action, form, attributes of its fields) for every distinct POST form the page shows."""
    found = {}
    for principal in [None] if public else VIEWERS:
        response = world.client(principal).get(url)
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        described = [f for f in _inputs(response.text) if f["method"] == "post"]
        for form in post_forms(response.text):
            action = _same_page(url, form.action)
            names = frozenset(n for n in form.fields if n not in NOT_DATA)
            attrs = next((f["fields"] for f in described if set(f["fields"]) == set(form.fields)), {})
            if names and (action, names) not in found:
                found[(action, names)] = (principal, action, form, attrs)
    return list(found.values())


STATS = {"posts": 0, "gets": 0, "seconds": 0.0, "statuses": Counter()}


@pytest.fixture(autouse=True)
def _on_postgres():
    if not is_postgres():
        pytest.skip("the column bounds are PostgreSQL's (SQLite stores what PostgreSQL refuses)")


@pytest.mark.parametrize("route", site_routes(), ids=lambda r: r.name)
def test_no_form_answers_an_edge_value_with_a_5xx_or_a_half_save(world, viewers, fast_pdfs, db, route):
    started = time.monotonic()
    failures = []
    forms = {}
    for url in _variant_urls(world, route):
        for principal, action, form, attrs_of in _discover(world, url, public=route.name in PUBLIC):
            forms.setdefault((action, frozenset(form.fields)), (principal, action, form, attrs_of))
    for principal, action, form, attrs_of in forms.values():
        if not any(kind in EDGE_VALUES for kind in form.fields.values()):
            continue  # no number, date or month to push to its bounds (test_fuzz_forms.py fuzzes the rest)
        client = world.client(principal)
        for what, data in _edge_posts(form, attrs_of):
            cache.clear()
            response, changed = _post(client, action, data)
            STATS["posts"] += 1
            STATS["statuses"][response.status_code] += 1
            where = f"POST {action} as {principal} with {what}"
            if response.status_code >= 500:
                exc = getattr(response, "exc_info", None)
                failures.append(f"{where}: {response.status_code} {exc[1] if exc else ''!r}")
            elif not 300 <= response.status_code < 400 and changed:
                failures.append(f"{where}: refused ({response.status_code}) but rows changed {changed}")
    STATS["seconds"] += time.monotonic() - started
    assert not failures, "\n".join(failures[:20])


def _view_reads(view) -> set[str]:
    """The query-string parameters a view function reads itself (and the module's helpers it calls)."""
    view = inspect.unwrap(view)
    module = inspect.getmodule(view)
    try:
        source = inspect.getsource(module)
    except (OSError, TypeError):
        return set()
    return set(READS.findall(source))


def _reader(world, url):
    """A principal who gets the page (200), the owner unit's users first; None if nobody does."""
    for principal in VIEWERS:
        response = world.client(principal).get(url)
        if response.status_code == 200:
            return principal, response
    return None, None


@pytest.mark.parametrize("route", site_routes(), ids=lambda r: r.name)
def test_no_query_string_value_at_or_beyond_the_bounds_answers_a_5xx(world, viewers, fast_pdfs, db, route):
    started = time.monotonic()
    failures = []
    for url in _urls(world, route)[:1]:
        principal, page = _reader(world, url) if route.name not in PUBLIC else (None, None)
        if page is None:
            continue
        params = {}
        if "html" in page.get("Content-Type", ""):
            for found in _inputs(page.text):
                if found["method"] == "get":
                    for name, attrs in found["fields"].items():
                        params.setdefault(name, attrs.get("type"))
        for name in _view_reads(route.view):
            params.setdefault(name, None)
        client = world.client(principal)
        for name, kind in sorted(params.items()):
            for value in EDGE_VALUES.get(kind) or (CURSORS + QUERY_VALUES[:3] if name == "after" else QUERY_VALUES):
                cache.clear()
                response = client.get(url, {name: value})
                STATS["gets"] += 1
                if response.status_code >= 500:
                    exc = getattr(response, "exc_info", None)
                    failures.append(f"GET {url}?{name}={value} as {principal}: {response.status_code} {exc!r:.300}")
    STATS["seconds"] += time.monotonic() - started
    assert not failures, "\n".join(failures[:20])


# --- 3. rows at the extremes of each column ---------------------------------------------------------------

EDGE_TIME = {
    "max": timezone.make_aware(dt.datetime(2999, 12, 31, 23, 59, 59)),
    "min": timezone.make_aware(dt.datetime(1900, 1, 1, 0, 0)),
    "year one": dt.datetime(1, 1, 1, 0, 0, tzinfo=dt.UTC),  # the earliest instant a driver can read back
}
EDGE_DAY = {"max": bounds.DATE_MAX, "min": bounds.DATE_MIN, "year one": dt.date(1, 1, 1)}
# Rows a form let through before the bounds: 0001-01-01 00:00 in Asia/Shanghai is a BC instant in UTC, and
# no Python datetime holds it (servicedesk.db reads such values as the edge of the range).
EDGE_TIME["before year one"] = RawSQL("'0001-01-01 00:00+08'::timestamptz", [])
EDGE_DAY["before year one"] = RawSQL("'0001-01-01 BC'::date", [])


def _edge_values(model, edge: str) -> dict:
    values = {}
    for f in model._meta.concrete_fields:
        if f.primary_key or f.is_relation or (not f.editable and not isinstance(f, models.DateTimeField)):
            continue
        if isinstance(f, models.DecimalField) and edge in ("max", "min"):
            top = bounds.column_max(f)
            values[f.name] = top if edge == "max" else -top
        elif isinstance(f, models.DateTimeField):
            values[f.name] = EDGE_TIME[edge]
        elif isinstance(f, models.DateField):
            values[f.name] = EDGE_DAY[edge]
        elif isinstance(f, models.PositiveIntegerField | models.PositiveSmallIntegerField) and edge == "max":
            values[f.name] = bounds.INTEGER_MAX if isinstance(f, models.PositiveIntegerField) else 32767
    return values


def _try_update(queryset, values) -> bool:
    try:
        with transaction.atomic():
            queryset.update(**values)
        return True
    except DatabaseError:
        return False


def write_extreme_rows(edge: str) -> int:
    """Every row of the project's tables takes the edge value in every column that allows it; returns fields set.

    All columns at once where the table allows it, else column by column, else row by row (check constraints,
    unique dates and the append-only triggers refuse some; what they refuse cannot be stored anyway).
    """
    written = 0
    for model in apps.get_models():
        if model._meta.app_label not in PROJECT_APPS or not model._meta.managed or model._meta.proxy:
            continue
        values = _edge_values(model, edge)
        if not values or not model.objects.exists():
            continue
        if _try_update(model.objects.all(), values):
            written += len(values)
            continue
        for name, value in values.items():
            if _try_update(model.objects.all(), {name: value}):
                written += 1
                continue
            for pk in model.objects.values_list("pk", flat=True)[:50]:
                written += _try_update(model.objects.filter(pk=pk), {name: value})
    return written


@pytest.fixture(scope="module")
def pages(world, viewers):
    """Every site URL someone gets with a 200 before any extreme row exists: (url, who, is a list page)."""
    found = []
    for route in site_routes():
        if route.name in PUBLIC:
            continue
        for url in _urls(world, route):
            principal, response = _reader(world, url)
            if response is not None:
                found.append((url, principal, not route.kwargs))
    return found


@pytest.mark.parametrize("edge", list(EDGE_DAY))
def test_every_page_renders_with_rows_at_the_extremes_of_each_column(world, fast_pdfs, db, pages, edge):
    started = time.monotonic()
    assert len(pages) > 50, "the walk reached too few pages"
    written = write_extreme_rows(edge)
    assert written > 100, f"only {written} extreme values could be written"
    also = [("HO", Role.SERVICE_DEPARTMENT), ("HO", Role.GM_OFFICE)]
    failures = []
    for url, principal, is_list in pages:
        # A list page also as head office, who sees every unit's rows.
        for who in dict.fromkeys([principal, *(also if is_list else [])]):
            cache.clear()
            response = world.client(who).get(url)
            STATS["gets"] += 1
            if response.status_code >= 500:
                exc = getattr(response, "exc_info", None)
                failures.append(f"GET {url} as {who} with rows at the {edge}: {response.status_code} {exc!r:.300}")
    STATS["seconds"] += time.monotonic() - started
    assert not failures, "\n".join(failures[:20])


def test_the_bounds_fuzzing_reached_the_forms_and_pages():
    """Run after the parametrized tests: the walk really posted and rendered (the figures, with -s)."""
    if STATS["posts"]:
        print(  # noqa: T201 - the figures for the report, with -s
            f"\nbounds fuzz: {STATS['posts']} posts {dict(STATS['statuses'])}, {STATS['gets']} gets, "
            f"{STATS['seconds']:.1f} s"
        )
        assert STATS["statuses"][302] > 0, "no edge post was ever accepted: the valid filler values do not work"
