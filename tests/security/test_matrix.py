"""Route × role × other branch, generated from the URL configuration: a new page cannot escape it.

For every URL the resolver knows (the admin site is walked in test_admin_walk.py), every role is tried as a
user of unit A, of unit B (the owner of the objects) and of head office, plus a unit-A user holding every
role, a user with every role and no unit, and an anonymous visitor:

- nobody ever gets a 5xx, by GET or by POST;
- an anonymous visitor is sent to log in, except on the few public URLs below;
- on a URL naming one of unit B's objects, a unit-A user (and the unit-less one) gets 404, or 403 where the
  role lacks the permission outright (the codebase's convention: ``permission_required(raise_exception=True)``
  is checked before the object is looked up, the unit boundary is a 404); and their POSTs change nothing;
- head office sees unit B's object wherever a unit-B user of the same role does.

The API's URLs (``api.views.ApiView``) are tried the same way with each principal's API token instead of a
session: an anonymous request is 401 rather than sent to log in, and an expired or a revoked token of a user
holding every role is 401 on every one of them.

Each URL kwarg is mapped to the kind of object it names in ``ROUTE_KWARGS``; an unmapped URL fails
``test_every_url_is_classified`` with a message saying where to add it.
"""

import itertools
import time

import pytest
from django.apps import apps
from django.conf import settings
from django.shortcuts import resolve_url
from django.urls import reverse

from api.views import ApiView
from servicedesk.roles import Role
from tests.urlwalk import routes

from .conftest import ROLES, customer_principal, portal_owner

# Reachable without logging in, and why. A new public URL must be added here on purpose.
PUBLIC = {
    "login": "the login page itself",
    "set_language": "the language switch on the login page",
    "healthz": "liveness probe",
    "readyz": "readiness probe",
    "survey_public:answer": "a survey card's private link (DOMAIN 5), checked by its token",
}

# The customer portal (DOMAIN 11) has its own principal: a customer's contact person, signed in by a one-time
# link or SMS code, who is never a staff user. Its pages send everybody else (anonymous and staff alike) to the
# portal's sign-in; these are the portal's pages reachable without signing in, and why.
PORTAL_PUBLIC = {
    "portal:sign_in": "asks for a sign-in link or code",
    "portal:sign_in_code": "enters the SMS code",
    "portal:sign_in_link": "the e-mailed one-time link, checked by its signature",
    "portal:sign_out": "ends whatever portal session the browser holds",
}

# URL kwarg -> what it names. A string is a kind of unit B's object (conftest._objects), "kind.attr" one of
# its attributes; a tuple lists the literal values the URL takes (every one is tried).
ROUTE_KWARGS = {
    "repairs:voucher_create": {"pk": "call"},
    "repairs:carry_in_open": {"pk": "call"},
    "repairs:voucher_detail": {"pk": "voucher"},
    "repairs:voucher_edit": {"pk": "voucher"},
    "repairs:voucher_sign": {"pk": "voucher"},
    "repairs:voucher_correct": {"pk": "voucher"},
    "repairs:voucher_fee": {"pk": "voucher"},
    "repairs:voucher_invoice": {"pk": "voucher"},
    "repairs:voucher_pdf": {"pk": "voucher"},
    "repairs:fee_confirm": {"pk": "fee"},
    "repairs:voucher_write_off": {"pk": "voucher"},
    "repairs:fee_receipt_pdf": {"pk": "fee"},
    "repairs:card_detail": {"pk": "card"},
    "repairs:card_pdf": {"pk": "card"},
    "repairs:pickup_receipt_pdf": {"pk": "card"},
    "repairs:card_action": {
        "pk": "card",
        "action": ("in_repair", "waiting_parts", "repaired", "report_delay", "reschedule", "receive"),
    },
    "repairs:register_release": {"pk": "register_entry"},
    "repairs:delay_letter_pdf": {"pk": "delay"},
    "repairs:delay_letter_sent": {"pk": "delay"},
    "repairs:call_detail": {"pk": "call"},
    "repairs:board_dispatch": {"pk": "call"},
    "repairs:call_action": {
        "pk": "call",
        "action": ("dispatch", "arrive", "resolve", "cancel", "close", "enter_arrival", "leave", "plan"),
    },
    "repairs:visit_no_signature": {"pk": "visit"},
    "repairs:visit_photo": {"pk": "visit"},
    "contracts:detail": {"pk": "contract"},
    "contracts:term_renew": {"pk": "term"},
    "contracts:notice_pdf": {"pk": "notice"},
    "contracts:follow_up": {"pk": "follow_up"},
    "contracts:follow_up_outcome": {"pk": "follow_up"},
    "contracts:follow_up_assign": {"pk": "follow_up"},
    "contracts:import_detail": {"pk": "import"},
    "contracts:import_progress": {"pk": "import"},
    "contracts:import_valid_rows": {"pk": "import"},
    "contracts:import_restart": {"pk": "import"},
    "complaints:batch_pdf": {"pk": "survey_batch"},
    "complaints:opinion_detail": {"pk": "opinion"},
    "complaints:opinion_letter": {"pk": "opinion"},
    "complaints:opinion_acknowledge": {"pk": "opinion"},
    "complaints:opinion_action": {"pk": "opinion", "action": ("classify", "forward", "resolve", "close", "follow_up")},
    "complaints:case_detail": {"pk": "case"},
    "complaints:case_pdf": {"pk": "case"},
    "complaints:case_transition": {"pk": "case", "to_status": "case.next_statuses"},
    "complaints:attachment_upload": {"pk": "case"},
    "complaints:case_follow_up": {"pk": "case"},
    "complaints:return_add": {"pk": "case"},
    "complaints:cost_add": {"pk": "case"},
    "complaints:action_add": {"pk": "case"},
    "complaints:attachment_download": {"pk": "attachment"},
    "complaints:return_check": {"pk": "return"},
    "complaints:return_resolve": {"pk": "return"},
    "complaints:return_post": {"pk": "return"},
    "complaints:action_step": {"pk": "improvement_action", "step": ("execute", "follow_up", "confirm")},
    "complaints:reminder_slip_pdf": {"pk": "reminder_slip"},
    "complaints:case_reports_export": {"fmt": ("csv", "xlsx", "pdf")},
    "complaints:appraisal_export": {"fmt": ("csv", "xlsx", "pdf")},
    "penalties:ruling_open": {"case_pk": "ruled_case"},
    "penalties:ruling_detail": {"pk": "ruling"},
    "penalties:ruling_shares": {"pk": "ruling"},
    "penalties:ruling_propose": {"pk": "ruling"},
    "penalties:ruling_reopen": {"pk": "ruling"},
    "penalties:ruling_cancel": {"pk": "ruling"},
    "penalties:ruling_approve": {"pk": "ruling"},
    "penalties:ruling_correct": {"pk": "ruling"},
    "penalties:line_adjust": {"pk": "ruling", "line_pk": "line"},
    "penalties:line_notice": {"pk": "ruling", "line_pk": "line"},
    "penalties:loss_detail": {"pk": "loss"},
    "penalties:proceeds_record": {"pk": "loss"},
    "penalties:ledger_export": {"fmt": ("csv", "xlsx")},
    "survey_public:answer": {"card_id": "survey_card", "token": "survey_card.token"},
    "export": {"page": "export_pages", "fmt": ("csv", "xlsx")},
    "bulk_run": {
        "page": ("calls", "repair-cards", "expiry-notices", "survey-cards"),
        "action": ("assign", "close", "print-vouchers", "print"),
    },
    "export_job": {"pk": "export_job"},
    "export_job_progress": {"pk": "export_job"},
    "export_job_download": {"pk": "export_job"},
    "repairs:quote": {"pk": "quoted_card"},
    "repairs:quote_sign": {"pk": "quoted_card"},
    "repairs:quote_pdf": {"pk": "quoted_card"},
    "repairs:quote_action": {"pk": "quoted_card", "action": ("phone", "decline", "fee", "release_unpaid", "use_part")},
    "parts:van": {"pk": "van_technician"},
    "parts:movement_new": {"kind": ("receive", "issue", "return", "count")},
    "parts:issue_note_pdf": {"pk": "issue_movement"},
    "records:customer": {"pk": "customer"},
    "intake:message": {"pk": "inbound_message"},
    "intake:match": {"pk": "inbound_message"},
    "intake:attachment": {"pk": "inbound_attachment"},
    "api:call": {"pk": "call"},
    "api:call_dispatch": {"pk": "call"},
    "api:call_arrive": {"pk": "call"},
    "api:call_enter_arrival": {"pk": "call"},
    "api:call_resolve": {"pk": "call"},
    "api:customer": {"pk": "customer"},
    "api:contract": {"pk": "contract"},
    "api:opinion": {"pk": "opinion"},
    "records:product": {"serial": "product.serial_number"},
    # The portal: each object belongs to one customer (conftest.PORTAL_OWNER); only its contact may see it.
    "portal:call_detail": {"pk": "call"},
    "portal:voucher_pdf": {"pk": "signed_voucher"},
    "portal:fee_receipt_pdf": {"pk": "fee"},
    "portal:pickup_receipt_pdf": {"pk": "card"},
    "portal:notice_pdf": {"pk": "notice"},
    "portal:sign_in_link": {"token": ("not-a-signed-token",)},
}

# Computed values some kwargs need ("kind.attr" where attr is not a model attribute).
DERIVED = {
    "next_statuses": lambda obj: tuple(obj.TRANSITIONS.get(obj.status, ())) or (obj.status,),
}


def is_token_route(route) -> bool:
    """An API URL: authenticated by a token, never by a session."""
    return issubclass(getattr(route.view, "cls", object), ApiView)


def site_routes():
    return [r for r in routes() if r.namespace != "admin" and not r.is_regex]


def staff_routes():
    return [r for r in site_routes() if r.namespace != "portal"]


def portal_routes():
    return [r for r in site_routes() if r.namespace == "portal"]


def _is_object_route(route) -> bool:
    # Reached by a token or before signing in, not scoped to a unit; only the no-500 rule applies.
    if route.name in PUBLIC or route.name in PORTAL_PUBLIC:
        return False
    spec = ROUTE_KWARGS.get(route.name, {})
    return any(isinstance(v, str) and v != "export_pages" for v in spec.values())


def test_every_url_is_classified():
    missing = [f"{r.name} ({', '.join(r.kwargs)})" for r in site_routes() if r.kwargs and r.name not in ROUTE_KWARGS]
    wrong = [
        f"{r.name}: the URL takes {sorted(r.kwargs)}, ROUTE_KWARGS says {sorted(ROUTE_KWARGS[r.name])}"
        for r in site_routes()
        if r.name in ROUTE_KWARGS and set(r.kwargs) != set(ROUTE_KWARGS[r.name])
    ]
    stale = sorted(set(ROUTE_KWARGS) - {r.name for r in site_routes()})
    assert not missing, (
        f"URLs with arguments the security matrix does not know: {missing}. Add each to ROUTE_KWARGS in "
        "tests/security/test_matrix.py, naming the kind of object every kwarg points at (and build one of that "
        "kind in unit B in tests/security/conftest.py::_objects if it is new)."
    )
    assert not wrong, wrong
    assert not stale, f"ROUTE_KWARGS names URLs that no longer exist: {stale}"


def _value(world, spec):
    if isinstance(spec, tuple):
        return spec
    if spec == "export_pages":  # every list page's export (servicedesk.exports), as the apps registered them
        from servicedesk.exports import registered

        return tuple(sorted(registered()))
    kind, _dot, attr = spec.partition(".")
    obj = world.objects[kind]
    if not attr:
        return (obj.pk,)
    if attr in DERIVED:
        return DERIVED[attr](obj)
    return (getattr(obj, attr),)


def _urls(world, route):
    """Every URL of ``route``: unit B's objects for the object kwargs, every listed value for the others."""
    spec = ROUTE_KWARGS.get(route.name, {})
    if not route.kwargs:
        return [reverse(route.name)]
    names = list(route.kwargs)
    choices = [_value(world, spec[name]) for name in names]
    return [reverse(route.name, kwargs=dict(zip(names, combo, strict=True))) for combo in itertools.product(*choices)]


def _comparable(value):
    return bytes(value) if isinstance(value, memoryview) else value  # PostgreSQL hands binary back as memoryview


def _fingerprint():
    """Row counts of every table and the contents of the tables a workflow writes: what a refused POST must keep."""
    counts = {m._meta.label: m.objects.count() for m in apps.get_models() if m._meta.label != "sessions.Session"}
    watched = ("repairs", "contracts", "complaints", "penalties")
    rows = {
        m._meta.label: sorted(repr(tuple(map(_comparable, row))) for row in m.objects.values_list())
        for m in apps.get_models()
        if m._meta.app_label in watched and m.objects.count() < 200
    }
    return counts, rows


A_SIDE = ["a_all"] + [("A", role) for role in ROLES] + ["no_unit"]
B_SIDE = [("B", role) for role in ROLES]
HEAD_OFFICE = [("HO", role) for role in ROLES]


def _label(principal) -> str:
    return principal if isinstance(principal, str) else f"{principal[0]}-{principal[1]}"


class Matrix:
    """The responses to one URL. A method the fully-permitted unit-A user gets 405 for is not tried again:
    ``require_GET``/``require_POST`` wrap every view, so nobody reaches the view that way."""

    def __init__(self, world, *, tokens: bool = False):
        self.world = world
        self.tokens = tokens
        self.status = {}  # (principal, method) -> status
        self.errors = []
        self.requests = 0
        self.refused_methods = set()

    def hit(self, principal, method, url, data=None):
        if method in self.refused_methods:
            self.status[(principal, method)] = 405
            return None
        client = self.world.token_client(principal) if self.tokens else self.world.client(principal)
        response = getattr(client, method)(url, data or {})
        self.requests += 1
        self.status[(principal, method)] = response.status_code
        if principal == "a_all" and response.status_code == 405:
            self.refused_methods.add(method)
        if response.status_code >= 500:
            exc = getattr(response, "exc_info", None)
            detail = repr(exc[1]) if exc else response.content[:200]
            who = _label(principal) if principal else "anonymous"
            self.errors.append(f"{method.upper()} {url} as {who}: {response.status_code} {detail}")
        return response


STATS = {"requests": 0, "urls": 0, "seconds": 0.0}

# Sent with every POST: every name a form here uses for its version and a plausible reason, so that the
# unit boundary, not an empty form, is what refuses an A-side POST.
POST_DATA = {"version": "1", "note": "x", "reason": "x", "outcome": "x"}


def check_url(world, route, url) -> tuple[list[str], Matrix]:
    """Every principal on one URL; returns what is wrong."""
    object_route = _is_object_route(route)
    problems = []
    tokens = is_token_route(route)
    m = Matrix(world, tokens=tokens)
    for method in ("get", "post"):
        response = m.hit(None, method, url)
        if tokens:
            for principal in (None, "expired", "revoked"):
                got = m.status[(principal, method)] if principal is None else m.hit(principal, method, url).status_code
                if got != 401:
                    problems.append(f"{method.upper()} {url} with {principal or 'no'} token: {got}, not 401")
        elif route.name not in PUBLIC:
            if not (response.status_code == 302 and response.url.startswith(resolve_url(settings.LOGIN_URL))):
                problems.append(f"anonymous {method.upper()} {url}: {response.status_code}, not sent to log in")
    before = _fingerprint() if object_route else None
    for principal in A_SIDE:
        m.hit(principal, "get", url)
        m.hit(principal, "post", url, POST_DATA)
    if object_route and _fingerprint() != before:
        problems.append(f"POST {url} by another unit's users changed the database")
    # The owner's colleagues are the reference for the isolation check; lists are walked by head office.
    for principal in (B_SIDE if object_route else []) + HEAD_OFFICE:
        m.hit(principal, "get", url)
    for principal in HEAD_OFFICE:
        m.hit(principal, "post", url, POST_DATA)
    # A customer signed in to the portal is no staff user: every staff page sends them to the staff login.
    if route.name not in PUBLIC and not tokens:  # the API has no session: a customer's is no token either
        customer = customer_principal(world.objects["call"].customer)
        for method in ("get", "post"):
            response = m.hit(customer, method, url, POST_DATA)
            if response is None:  # a method nobody reaches the view by (405)
                continue
            if not (response.status_code == 302 and response.url.startswith(resolve_url(settings.LOGIN_URL))):
                problems.append(f"portal customer {method.upper()} {url}: {response.status_code}, not sent to log in")
    problems += m.errors
    if object_route:
        problems += _isolation_problems(m, url)
    return problems, m


# Staff principals tried on every portal page: none of them is a customer, so none gets past its sign-in.
PORTAL_STAFF = ["a_all", "no_unit", ("B", Role.DISPATCHER), ("HO", Role.SERVICE_DEPARTMENT)]


def _portal_object_kind(route) -> str | None:
    spec = ROUTE_KWARGS.get(route.name, {})
    return next((v for v in spec.values() if isinstance(v, str)), None)


def check_portal_url(world, route, url) -> tuple[list[str], Matrix]:
    """Every principal on one portal URL: only the owning customer's contact reaches its object."""
    problems = []
    m = Matrix(world)
    sign_in = reverse("portal:sign_in")
    public = route.name in PORTAL_PUBLIC
    kind = _portal_object_kind(route)
    if public:
        for principal in [None, *PORTAL_STAFF]:
            for method in ("get", "post"):
                m.hit(principal, method, url, POST_DATA)
        return problems + m.errors, m
    for principal in [None, *PORTAL_STAFF]:
        for method in ("get", "post"):
            response = m.hit(principal, method, url, POST_DATA)
            if not (response.status_code == 302 and response.url.startswith(sign_in)):
                who = _label(principal) if principal else "anonymous"
                problems.append(f"{who} {method.upper()} {url}: {response.status_code}, not sent to the portal sign-in")
    if kind is None:  # a list or a form of the customer's own: every customer reaches it, and sees only theirs
        for principal in world.portal_strangers:
            response = m.hit(principal, "get", url)
            if response.status_code != 200:
                problems.append(f"GET {url} as {_label(principal)}: {response.status_code}, expected 200")
            m.hit(principal, "post", url, POST_DATA)
        return problems + m.errors, m
    owner = customer_principal(portal_owner(world.objects[kind], kind))
    response = m.hit(owner, "get", url)
    if response.status_code != 200:
        problems.append(f"GET {url} as its own customer: {response.status_code}, expected 200")
    before = _fingerprint()
    for principal in world.portal_strangers:
        for method in ("get", "post"):
            got = m.hit(principal, method, url, POST_DATA).status_code
            if got not in (404, 405):
                problems.append(f"{method.upper()} {url} as another customer {_label(principal)}: {got}, must be 404")
    if _fingerprint() != before:
        problems.append(f"POST {url} by another customer changed the database")
    return problems + m.errors, m


@pytest.mark.parametrize("route", portal_routes(), ids=lambda r: r.name)
def test_portal_route_by_customer(world, fast_pdfs, db, route):
    started = time.monotonic()
    problems = []
    for url in _urls(world, route):
        found, m = check_portal_url(world, route, url)
        problems += found
        STATS["requests"] += m.requests
    STATS["urls"] += 1
    STATS["seconds"] += time.monotonic() - started
    assert not problems, "\n".join(problems)


def test_the_portal_matrix_is_not_vacuous(world, fast_pdfs, db):
    """The owner's contact really reaches the call; another customer of the same unit gets 404."""
    route = next(r for r in portal_routes() if r.name == "portal:call_detail")
    call = world.objects["call"]
    problems, m = check_portal_url(world, route, reverse("portal:call_detail", args=[call.pk]))
    assert problems == []
    assert m.status[(customer_principal(call.customer), "get")] == 200
    assert all(m.status[(p, "get")] == 404 for p in world.portal_strangers)
    assert m.status[(("B", Role.DISPATCHER), "get")] == 302


@pytest.mark.parametrize("route", staff_routes(), ids=lambda r: r.name)
def test_route_by_role_by_branch(world, fast_pdfs, db, route):
    started = time.monotonic()
    if route.kwargs and route.name not in ROUTE_KWARGS:
        pytest.fail(f"{route.name} is not classified: see test_every_url_is_classified")
    problems = []
    for url in _urls(world, route):
        found, m = check_url(world, route, url)
        problems += found
        STATS["requests"] += m.requests
    STATS["urls"] += 1
    STATS["seconds"] += time.monotonic() - started
    assert not problems, "\n".join(problems)


def _route(name):
    return next(r for r in site_routes() if r.name == name)


def test_the_owners_see_their_object_and_the_other_branch_gets_404(world, fast_pdfs, db):
    """The matrix is not vacuous: the reference users really reach unit B's call."""
    route = _route("repairs:call_detail")
    problems, m = check_url(world, route, world.objects["call"].get_absolute_url())
    assert problems == []
    assert m.status[(("B", Role.DISPATCHER), "get")] == 200
    assert m.status[(("HO", Role.SERVICE_DEPARTMENT), "get")] == 200
    assert m.status[(("A", Role.DISPATCHER), "get")] == 404
    assert m.status[("a_all", "get")] == m.status[("no_unit", "get")] == 404


def test_the_matrix_catches_a_unit_boundary_that_lets_everyone_through(world, fast_pdfs, db, monkeypatch):
    from servicedesk.models import User

    monkeypatch.setattr(User, "sees_all_units", property(lambda self: self.is_authenticated))
    problems, _m = check_url(world, _route("repairs:call_detail"), world.objects["call"].get_absolute_url())
    assert any("as A-dispatcher: 200" in p for p in problems), problems
    assert any("as no_unit: 200" in p for p in problems), problems


def _isolation_problems(m: Matrix, url: str) -> list[str]:
    problems = []
    for role in ROLES:
        owner = m.status[(("B", role), "get")]
        # The owner's GET says whether the role may use this URL at all: 403 lacks the permission, 405 is a
        # POST-only URL (unknown), anything else means the role may, and only the unit boundary can refuse.
        lacking = {403} if owner in (403, 405) else set()
        for principal, allowed in ((("A", role), {404, 405} | lacking), ("a_all", {404, 405}), ("no_unit", {404, 405})):
            for method in ("get", "post"):
                got = m.status[(principal, method)]
                if got not in allowed:
                    problems.append(
                        f"{method.upper()} {url} as {_label(principal)}: {got} (unit B's {role} gets {owner} on "
                        f"GET); another unit's object must be {' or '.join(map(str, sorted(allowed - {405})))}"
                    )
        head_office = m.status[(("HO", role), "get")]
        if owner not in (403, 404, 405) and head_office in (403, 404):
            problems.append(f"GET {url}: unit B's {role} gets {owner} but head office's {role} gets {head_office}")
    return sorted(set(problems))


def test_the_matrix_ran_within_its_budget():
    """Runs after the parametrized tests: a bounded number of requests per URL pattern (printed with -s for the
    report). The matrix grows with the URLs (127 patterns and ~44 requests each after issues 12-14); what this
    catches is a change that multiplies the requests every pattern costs."""
    if STATS["urls"]:
        assert STATS["requests"] < 50 * STATS["urls"], STATS
        print(  # noqa: T201 - the figures for the report
            f"\nsecurity matrix: {STATS['urls']} URL patterns, {STATS['requests']} requests, {STATS['seconds']:.1f} s"
        )


def test_the_api_matrix_uses_tokens_and_the_owners_token_reaches_the_call(world, db):
    """The API rows are not vacuous: unit B's tokens read B's call, unit A's get 404, head office's 200."""
    route = _route("api:call")
    assert is_token_route(route) and not is_token_route(_route("api:docs"))
    problems, m = check_url(world, route, reverse("api:call", kwargs={"pk": world.objects["call"].pk}))
    assert problems == []
    assert m.status[(("B", Role.DISPATCHER), "get")] == 200
    assert m.status[(("HO", Role.SERVICE_DEPARTMENT), "get")] == 200
    assert m.status[(("A", Role.DISPATCHER), "get")] == 404
    assert m.status[("expired", "get")] == m.status[("revoked", "get")] == m.status[(None, "get")] == 401
