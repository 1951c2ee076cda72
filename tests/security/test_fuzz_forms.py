"""Every form, fuzzed: whatever is posted, the answer is never a 5xx.

The forms are found, not listed: every URL the resolver knows is opened (with unit B's objects for its kwargs,
see test_matrix.ROUTE_KWARGS) by unit B's users and by head office, and every ``<form method="post">`` on the
page is read for its field names. Hypothesis then posts values for those names: empty, 10,000 characters,
Chinese, right-to-left, NUL bytes, numbers out of range, malformed dates, decimals and UUIDs, lists, files,
mixed with the page's own values (so the version check passes and the service is reached). Each example runs
in a savepoint that is rolled back, so every example starts from the same state.
"""

import time
from urllib.parse import urlsplit

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from servicedesk.roles import Role

from .conftest import ROLES
from .forms import NOT_DATA, post_forms
from .test_matrix import PUBLIC, _urls, site_routes

EXAMPLES_PER_FORM = 10

NASTY = [
    "",
    " ",
    "0",
    "-1",
    "-0.00",
    "1e309",
    "-1e309",
    "NaN",
    "Infinity",
    "sNaN",
    "9" * 40,
    "99999999999999999999.999",
    "0.0000000001",
    "1,5",
    "１２３",
    "٣",
    "2147483648",
    "-9223372036854775809",
    "18446744073709551616",
    "2026-02-30",
    "2026-13-01T25:61",
    "0000-00-00",
    "0001-01-01",
    "9999-12-31T23:59",
    "1900-01-01T00:00",
    "2026-06-01T12:00:00+25:00",
    "00000000-0000-0000-0000-000000000000",
    "not-a-uuid",
    "\x00",
    "a\x00b",
    "上海精密机械有限公司" * 20,
    "مرحبا بالعالم",
    "\u202eevil\u202c",
    "שלום",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "%s%(x)s{0}",
    "../../etc/passwd",
    "x" * 10_000,
    "中" * 10_000,
    "🙂" * 200,
    "true",
    "on",
    "None",
    "[]",
]

text_values = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=40),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.datetimes().map(lambda d: d.strftime("%Y-%m-%dT%H:%M")),
)
file_values = st.builds(
    lambda name, content: SimpleUploadedFile(name, content),
    st.sampled_from(["a.png", "a.jpg", "a.pdf", "a.csv", "a.xlsx", "../../x.png", "中文.png", "\u202egnp.exe", "x"]),
    st.one_of(
        st.binary(max_size=200),
        st.just(b"\x89PNG\r\n\x1a\n" + b"\x00" * 50),
        st.just("单号,客户\n1,2\n".encode()),
    ),
)
OMIT = object()


def _field_strategy(form, name):
    kind = form.fields[name]
    if kind == "file":
        return st.one_of(st.just(OMIT), file_values)
    own = [form.values[name]] if name in form.values else []
    options = [o for o in form.options.get(name, []) if o]
    real = st.sampled_from(own + options) if own or options else text_values
    return st.one_of(
        st.just(OMIT),
        real,
        real,
        text_values,
        st.lists(st.one_of(real, text_values), min_size=2, max_size=3),
    )


def _same_page(url, action) -> str:
    return urlsplit(action).path if action else url


# Those who open the pages: the owner unit's users see the unit's forms, head office the rest.
VIEWERS = [("B", role) for role in ROLES] + [
    ("HO", role)
    for role in (Role.SERVICE_DEPARTMENT, Role.DEPUTY_GM, Role.DEPARTMENT_HEAD, Role.GM_OFFICE, Role.ACCOUNTING)
]

STATS = {"forms": 0, "posts": 0, "seconds": 0.0}


def _variant_urls(world, route) -> list[str]:
    """The route's URL for each state of the object it names (the first kwarg naming an object)."""
    from django.urls import reverse

    from .test_matrix import ROUTE_KWARGS

    spec = ROUTE_KWARGS.get(route.name, {})
    first = _urls(world, route)[:1]
    objects = [(k, v) for k, v in spec.items() if isinstance(v, str) and "." not in v and v in world.variants]
    if len(objects) != 1 or len(spec) != 1:
        return first
    kwarg, kind = objects[0]
    return [reverse(route.name, kwargs={kwarg: obj.pk}) for obj in world.variants[kind]]


def _discover(world, url, public):
    """(principal, action, form) for every distinct POST form the URL's page shows to someone."""
    found = {}
    for principal in [None] if public else VIEWERS:
        response = world.client(principal).get(url)
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        for form in post_forms(response.text):
            action = _same_page(url, form.action)
            names = frozenset(n for n in form.fields if n not in NOT_DATA)
            if names and (action, names) not in found:
                found[(action, names)] = (principal, action, form)
    return list(found.values())


def _fuzz(client, principal, action, form) -> str | None:
    """Hypothesis posts to one form; returns the smallest failing post, if any."""
    names = sorted(n for n in form.fields if n not in NOT_DATA)
    seen = []

    @settings(
        max_examples=EXAMPLES_PER_FORM,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(st.fixed_dictionaries({name: _field_strategy(form, name) for name in names}))
    def post(values):
        data = {k: v for k, v in values.items() if v is not OMIT}
        for value in data.values():
            if hasattr(value, "seek"):
                value.seek(0)
        cache.clear()  # the public link's rate limit would otherwise answer every later example
        with transaction.atomic():
            response = client.post(action, data)
            transaction.set_rollback(True)
        STATS["posts"] += 1
        if response.status_code >= 500:
            exc = getattr(response, "exc_info", None)
            seen.append(f"POST {action} as {principal}: {response.status_code} {exc[1]!r} with {data!r:.600}")
            raise AssertionError(seen[-1])

    try:
        post()
    except AssertionError:
        return seen[-1]  # the last one hypothesis tried: the smallest failing post
    return None


@pytest.mark.parametrize("route", site_routes(), ids=lambda r: r.name)
def test_no_form_answers_a_fuzzed_post_with_a_5xx(world, fast_pdfs, db, route):
    started = time.monotonic()
    failures = []
    forms = {}
    for url in _variant_urls(world, route):
        for principal, action, form in _discover(world, url, public=route.name in PUBLIC):
            forms.setdefault((action, frozenset(form.fields)), (principal, action, form))
    for principal, action, form in forms.values():
        STATS["forms"] += 1
        found = _fuzz(world.client(principal), principal, action, form)
        if found:
            failures.append(found)
    STATS["seconds"] += time.monotonic() - started
    assert not failures, "\n".join(failures)


def test_the_fuzzing_found_the_forms():
    """Run after the parametrized tests: the walk really reached the forms (and how many, for the report)."""
    if STATS["forms"]:
        assert STATS["forms"] >= 30, STATS
        print(  # noqa: T201 - the figures for the report, with -s
            f"\nfuzz: {STATS['forms']} forms, {STATS['posts']} posts, {STATS['seconds']:.1f} s"
        )
