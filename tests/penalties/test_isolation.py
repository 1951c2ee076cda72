"""Branch isolation on every penalties URL: another unit's ruling, line, case or loss is a 404.

The URL patterns are read from the resolver, so a new URL is either covered here or fails
``test_every_penalties_url_is_classified``.
"""

import pytest
from django.urls import reverse

from penalties.models import AuditEntry, CaseLoss, PenaltyRuling
from servicedesk.roles import Role
from tests.factories import UserFactory
from tests.urlwalk import routes

from .conftest import approved_ruling, make_ruled_case

# kwarg -> which of "ours" it names
OBJECT_KWARGS = {"pk", "case_pk", "line_pk"}
LIST_URLS = {"penalties:ruling_list", "penalties:ledger", "penalties:ledger_export", "penalties:audit_list"}
LOSS_URLS = {"penalties:loss_detail", "penalties:proceeds_record"}
CASE_URLS = {"penalties:ruling_open"}


def _routes():
    return [r for r in routes() if r.namespace == "penalties"]


def test_every_penalties_url_is_classified():
    names = {r.name for r in _routes()}
    rulings = {r.name for r in _routes() if "pk" in r.kwargs and r.name not in LOSS_URLS}
    assert names == LIST_URLS | LOSS_URLS | CASE_URLS | rulings
    for route in _routes():
        assert set(route.kwargs) <= OBJECT_KWARGS | {"fmt"}, route.name


@pytest.fixture
def ours(unit, technician, gm_office, manager):
    ruling = approved_ruling(
        case=make_ruled_case(unit=unit, responsible_person=technician, costs=["321.00"]), by=gm_office, approver=manager
    )
    pending = make_ruled_case(unit=unit, responsible_person=technician, returns=["99"])
    return {
        "ruling": ruling,
        "line": ruling.lines.get(),
        "loss": CaseLoss.objects.get(case=ruling.case),
        "pending_case": pending,
    }


@pytest.fixture
def outsider(other_unit):
    """Every penalties permission, but in a branch: sees its own unit only."""
    return UserFactory(
        username="sz-everything", unit=other_unit, roles=[Role.GM_OFFICE, Role.DEPARTMENT_HEAD, Role.ACCOUNTING]
    )


def _kwargs(route, ours):
    values = {}
    for name in route.kwargs:
        if name == "pk":
            values[name] = ours["loss"].pk if route.name in LOSS_URLS else ours["ruling"].pk
        elif name == "line_pk":
            values[name] = ours["line"].pk
        elif name == "case_pk":
            values[name] = ours["pending_case"].pk
    return values


@pytest.mark.parametrize("route", [r for r in _routes() if r.name not in LIST_URLS], ids=lambda r: r.name)
def test_another_units_user_gets_404_for_every_object_url(client, ours, outsider, route):
    client.force_login(outsider)
    url = reverse(route.name, kwargs=_kwargs(route, ours))
    audit = AuditEntry.objects.count()
    statuses = {}
    for method in ("get", "post"):
        statuses[method] = getattr(client, method)(url, {"version": 1, "reason": "x", "amount": "1"}).status_code
    # 405: a method the URL never accepts; the view is never reached.
    assert set(statuses.values()) <= {404, 405}, statuses
    assert 404 in statuses.values()
    assert AuditEntry.objects.count() == audit
    assert PenaltyRuling.objects.filter(case=ours["pending_case"]).count() == 0


def test_the_own_units_people_reach_the_same_urls(client, ours, gm_office):
    client.force_login(gm_office)
    assert client.get(ours["ruling"].get_absolute_url()).status_code == 200
    assert client.get(reverse("penalties:loss_detail", args=[ours["loss"].pk])).status_code == 200
    notice = client.get(reverse("penalties:line_notice", args=[ours["ruling"].pk, ours["line"].pk]))
    assert notice.status_code == 200 and notice["Content-Type"] == "application/pdf"


def test_a_line_of_another_ruling_is_not_found_under_ours(client, ours, unit, technician, gm_office, deputy_gm):
    theirs = approved_ruling(
        case=make_ruled_case(unit=unit, responsible_person=technician, costs=["1"]), by=gm_office, approver=deputy_gm
    )
    client.force_login(gm_office)
    url = reverse("penalties:line_notice", args=[ours["ruling"].pk, theirs.lines.get().pk])
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("name", sorted(LIST_URLS), ids=str)
def test_no_list_shows_another_units_records(client, ours, outsider, name):
    client.force_login(outsider)
    url = reverse(name, kwargs={"fmt": "csv"} if name == "penalties:ledger_export" else {})
    response = client.get(url)
    assert response.status_code == 200
    body = response.content.decode("utf-8", errors="replace")
    for secret in (ours["ruling"].number, ours["ruling"].case.number, ours["pending_case"].number, "321.00"):
        assert secret not in body, f"{name} shows {secret}"
    assert str(ours["line"].person) not in body


def test_a_technician_sees_no_penalty_pages(client, ours, technician):
    client.force_login(technician)
    assert client.get(reverse("penalties:ruling_list")).status_code == 403
    assert client.get(reverse("penalties:audit_list")).status_code == 403
    assert client.get(ours["ruling"].get_absolute_url()).status_code == 403
