"""Mass assignment: fields a form does not have are ignored.

Each main create/update view is posted twice from the same state (each time in a savepoint that is rolled back):
once with a valid form, once with the same form plus every field an attacker would try that the page's form
does not offer (unit, status, created_by, approved_by, technician, version, id, pk, amounts, is_staff,
is_superuser, ...). The saved object must come out the same both times, and the user's own flags unchanged.
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from servicedesk.roles import Role
from tests.factories import CustomerFactory, ProductFactory, SiteFactory, log_call
from tests.repairs.conftest import new_call_form
from tests.repairs.field import call_on_site, draft_voucher, signed_voucher

from .forms import post_forms


def _attacker_fields(world) -> dict:
    other_unit = world.unit_a.pk
    stranger = world.users[("A", Role.TECHNICIAN)].pk
    return {
        "unit": other_unit,
        "unit_id": other_unit,
        "owner_unit": other_unit,
        "status": "closed",
        "created_by": stranger,
        "created_by_id": stranger,
        "received_by": stranger,
        "recorded_by": stranger,
        "collected_by": stranger,
        "confirmed_by": stranger,
        "approved_by": stranger,
        "approved_by_id": stranger,
        "approved_at": "2020-01-01T00:00",
        "technician": stranger,
        "technician_id": stranger,
        "handled_by": stranger,
        "version": "77",
        "id": "999999",
        "pk": "999999",
        "number": "HACKED-0001",
        "amount": "0.01",
        "total_due": "0.01",
        "labour_charge": "0.01",
        "fee": "0.01",
        "deduction": "0.01",
        "total_deduction": "0.01",
        "claimed_amount": "99999999",
        "settlement": "invoice",
        "signed_at": "2020-01-01T00:00",
        "is_staff": "on",
        "is_superuser": "on",
        "is_active": "",
        "groups": "1",
    }


def _offered(client, page, action) -> set:
    """The names the page's POST form for ``action`` offers (the create pages post to themselves)."""
    html = client.get(page).text
    names = set()
    for form in post_forms(html):
        if form.action in ("", action) or form.action.endswith(action):
            names |= set(form.fields)
    assert names, f"{page} shows no POST form for {action}"
    return names


# The highest id of every table before the posts: a foreign key to a row made by the post itself (a new customer,
# site or opinion) is compared as "new", since PostgreSQL's sequences do not roll back with the savepoint.
_BASELINE = {}


def _row(model_label, pk=None):
    """The object's stored values; stamps of "now" and the row id left out (they differ by run, not by input)."""
    model = apps.get_model(model_label)
    qs = model.objects.all()
    obj = qs.get(pk=pk) if pk is not None else qs.order_by("-pk").first()
    values = {}
    now = timezone.now()
    for f in model._meta.concrete_fields:
        value = getattr(obj, f.attname)
        if f.primary_key or (isinstance(value, dt.datetime) and abs(value - now) < dt.timedelta(minutes=10)):
            continue
        if f.is_relation and value is not None and value > _BASELINE.get(f.related_model, 0):
            value = "new"
        values[f.attname] = value
    return values


def _flat(captured) -> dict:
    rows = captured if isinstance(captured, tuple) else (captured,)
    return {(i, k): v for i, row in enumerate(rows) for k, v in row.items()}


def _post_and_capture(client, url, data, capture):
    with transaction.atomic():
        response = client.post(url, data)
        captured = capture() if response.status_code == 302 else None
        transaction.set_rollback(True)
    return response, captured


def _assert_extras_ignored(world, client, user, *, url, page, data, capture):
    extras = {
        k: v for k, v in _attacker_fields(world).items() if k not in _offered(client, page, url) and k not in data
    }
    assert extras, "nothing left to try"
    flags = (user.is_staff, user.is_superuser, user.is_active, set(user.groups.values_list("name", flat=True)))
    _BASELINE.clear()
    _BASELINE.update(
        {m: m.objects.order_by("-pk").values_list("pk", flat=True).first() or 0 for m in apps.get_models()}
    )
    clean, clean_row = _post_and_capture(client, url, data, capture)
    assert clean.status_code == 302, f"the valid form was refused: {clean.status_code} {_errors(clean)}"
    dirty, dirty_row = _post_and_capture(client, url, {**data, **extras}, capture)
    assert dirty.status_code == 302, f"extra fields {sorted(extras)} made the form fail: {dirty.status_code}"
    clean_row, dirty_row = _flat(clean_row), _flat(dirty_row)
    assert dirty_row.keys() == clean_row.keys()
    differing = {k: (v, dirty_row[k]) for k, v in clean_row.items() if not _same_value(v, dirty_row[k])}
    assert not differing, differing
    user.refresh_from_db()
    assert (user.is_staff, user.is_superuser, user.is_active, set(user.groups.values_list("name", flat=True))) == flags


def _same_value(clean, dirty) -> bool:
    """Equal, but for a deadline counted from "now" (a stage due one working day after the post): the two posts
    are a moment apart, so in working hours such a stamp moves with the clock. A forged value is days off."""
    if isinstance(clean, dt.datetime) and isinstance(dirty, dt.datetime):
        return abs(clean - dirty) < dt.timedelta(minutes=1)
    return clean == dirty


def _errors(response) -> list[str]:
    import re

    return re.findall(r'class="invalid-feedback[^"]*"[^>]*>(.*?)<', response.text, re.S) + re.findall(
        r"alert-danger[^>]*>(.*?)<", response.text, re.S
    )


def _local(value: dt.datetime) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%dT%H:%M")


@pytest.fixture
def b(world):
    return lambda role: world.users[("B", role)]


def test_logging_a_call(world, db, b):
    dispatcher = b(Role.DISPATCHER)
    client = world.client(("B", Role.DISPATCHER))
    zone = apps.get_model("repairs", "Zone").objects.get(code="urban")
    url = reverse("repairs:call_log")
    _assert_extras_ignored(
        world,
        client,
        dispatcher,
        url=url,
        page=url,
        data=new_call_form(zone),
        capture=lambda: _row("repairs.RepairCall"),
    )


def test_dispatching_a_call(world, db, b):
    dispatcher, technician = b(Role.DISPATCHER), b(Role.TECHNICIAN)
    call = log_call(dispatcher=dispatcher)
    client = world.client(("B", Role.DISPATCHER))
    url = reverse("repairs:call_action", args=[call.pk, "dispatch"])
    data = {"version": call.version, "technician": technician.pk, "reason": ""}
    _assert_extras_ignored(
        world,
        client,
        dispatcher,
        url=url,
        page=call.get_absolute_url(),
        data=data,
        capture=lambda: _row("repairs.RepairCall", call.pk),
    )


def test_filling_a_voucher(world, db, b):
    technician = b(Role.TECHNICIAN)
    call = call_on_site(dispatcher=b(Role.DISPATCHER), technician=technician)
    client = world.client(("B", Role.TECHNICIAN))
    url = reverse("repairs:voucher_create", args=[call.pk])
    data = {
        "arrived_at": _local(call.arrived_at),
        "departed_at": _local(timezone.now()),
        "work_done": "Cleaned the feeder",
        "labour_charge": "60.00",
        "parts-TOTAL_FORMS": "1",
        "parts-INITIAL_FORMS": "0",
        "parts-0-part_number": "RL-9",
        "parts-0-quantity": "1",
        "parts-0-unit_price": "15.50",
    }
    _assert_extras_ignored(
        world, client, technician, url=url, page=url, data=data, capture=lambda: _row("repairs.ServiceVoucher")
    )


def test_editing_a_draft_voucher(world, db, b):
    technician = b(Role.TECHNICIAN)
    call = call_on_site(dispatcher=b(Role.DISPATCHER), technician=technician)
    voucher = draft_voucher(technician=technician, call=call)
    client = world.client(("B", Role.TECHNICIAN))
    url = reverse("repairs:voucher_edit", args=[voucher.pk])
    data = {
        "version": voucher.version,
        "arrived_at": _local(voucher.arrived_at),
        "departed_at": _local(voucher.departed_at),
        "work_done": "Replaced the roller",
        "labour_charge": "80.00",
        "parts-TOTAL_FORMS": "0",
        "parts-INITIAL_FORMS": "0",
    }
    _assert_extras_ignored(
        world,
        client,
        technician,
        url=url,
        page=url,
        data=data,
        capture=lambda: _row("repairs.ServiceVoucher", voucher.pk),
    )


def test_collecting_a_fee(world, db, b):
    technician = b(Role.TECHNICIAN)
    call = call_on_site(dispatcher=b(Role.DISPATCHER), technician=technician)
    voucher = signed_voucher(technician=technician, call=call, labour=Decimal("50.00"), parts=[])
    client = world.client(("B", Role.TECHNICIAN))
    url = reverse("repairs:voucher_fee", args=[voucher.pk])
    data = {"amount": "50.00", "receipt_number": "R-1"}
    _assert_extras_ignored(
        world,
        client,
        technician,
        url=url,
        page=voucher.get_absolute_url(),
        data=data,
        capture=lambda: (_row("repairs.FeeCollection"), _row("repairs.ServiceVoucher", voucher.pk)),
    )


def test_creating_a_contract(world, db, b):
    dispatcher = b(Role.DISPATCHER)
    customer = CustomerFactory(unit=world.unit_b)
    product = ProductFactory(customer=customer)
    site = SiteFactory(customer=customer)
    client = world.client(("B", Role.DISPATCHER))
    url = reverse("contracts:new")
    data = {
        "customer": customer.pk,
        "contract_type": apps.get_model("contracts", "ContractType").objects.order_by("pk").first().pk,
        "start_on": "2030-04-01",
        "end_on": "2031-03-31",
        "fee": "1200.00",
        "visit_frequency": "quarterly",
        "serial_numbers": product.serial_number,
        "sites": [site.pk],
        "handled_by": dispatcher.pk,
    }
    _assert_extras_ignored(
        world,
        client,
        dispatcher,
        url=url,
        page=url,
        data=data,
        capture=lambda: (_row("contracts.Contract"), _row("contracts.ContractTerm")),
    )


def test_renewing_a_contract_term(world, db, b):
    dispatcher = b(Role.DISPATCHER)
    term = world.objects["term"]
    term.refresh_from_db()
    client = world.client(("B", Role.DISPATCHER))
    url = reverse("contracts:term_renew", args=[term.pk])
    data = {
        "version": term.version,
        "start_on": (term.end_on + dt.timedelta(days=1)).isoformat(),
        "end_on": (term.end_on + dt.timedelta(days=365)).isoformat(),
        "fee": "1500.00",
        "visit_frequency": "monthly",
    }
    _assert_extras_ignored(
        world,
        client,
        dispatcher,
        url=url,
        page=term.contract.get_absolute_url(),
        data=data,
        capture=lambda: (_row("contracts.ContractTerm"), _row("contracts.ContractTerm", term.pk)),
    )


def _opinion_data(world):
    return {
        "unit": world.unit_b.pk,
        "customer": CustomerFactory(unit=world.unit_b).pk,
        "kind": "complaint",
        "severity": "general",
        "source": "phone",
        "received_at": _local(timezone.now() - dt.timedelta(hours=1)),
        "text": "The technician was late",
    }


def test_recording_an_opinion(world, db, b):
    dispatcher = b(Role.DISPATCHER)
    client = world.client(("B", Role.DISPATCHER))
    url = reverse("complaints:opinion_record")
    _assert_extras_ignored(
        world,
        client,
        dispatcher,
        url=url,
        page=url,
        data=_opinion_data(world),
        capture=lambda: _row("complaints.CustomerOpinion"),
    )


def test_opening_a_case(world, db, b):
    dispatcher = b(Role.DISPATCHER)
    client = world.client(("B", Role.DISPATCHER))
    url = reverse("complaints:case_open")
    data = {**_opinion_data(world), "kind": "product", "description": "Stops twice a day", "claimed_amount": "500"}
    data.pop("text")
    _assert_extras_ignored(
        world, client, dispatcher, url=url, page=url, data=data, capture=lambda: _row("complaints.ComplaintCase")
    )


@pytest.mark.parametrize("route", ["complaints:opinion_record", "complaints:case_open"])
def test_a_branch_user_cannot_file_into_another_unit_through_the_unit_field(world, db, b, route):
    """The unit is a field of these forms (head office files for a branch); a branch user's choice is refused."""
    client = world.client(("B", Role.DISPATCHER))
    data = {**_opinion_data(world), "unit": world.unit_a.pk, "description": "x", "claimed_amount": "1"}
    model = apps.get_model("complaints", "CustomerOpinion" if "opinion" in route else "ComplaintCase")
    before = model.objects.filter(unit=world.unit_a).count()
    response = client.post(reverse(route), data)
    assert response.status_code in (200, 302, 400)
    assert model.objects.filter(unit=world.unit_a).count() == before


def test_adding_a_case_cost(world, db, b):
    dispatcher = b(Role.DISPATCHER)
    case = world.objects["case"]
    client = world.client(("B", Role.DISPATCHER))
    url = reverse("complaints:cost_add", args=[case.pk])
    data = {"cost-description": "Freight", "cost-amount": "120.00"}
    offered = _offered(client, case.get_absolute_url(), url)
    data = {k: v for k, v in data.items() if k in offered} or {"description": "Freight", "amount": "120.00"}
    _assert_extras_ignored(
        world,
        client,
        dispatcher,
        url=url,
        page=case.get_absolute_url(),
        data=data,
        capture=lambda: _row("complaints.CaseCost"),
    )


def test_adjusting_a_penalty_line(world, db):
    ruling = apps.get_model("penalties", "PenaltyRuling").objects.get(unit=world.unit_b, status="proposed")
    line = ruling.lines.get()
    gm_office = world.users[("HO", Role.GM_OFFICE)]
    client = world.client(("HO", Role.GM_OFFICE))
    url = reverse("penalties:line_adjust", args=[ruling.pk, line.pk])
    prefix = f"line{line.pk}"
    data = {
        f"{prefix}-version": ruling.version,
        f"{prefix}-penalty_kind": apps.get_model("penalties", "PenaltyKind").objects.get(code="major_demerit").pk,
        f"{prefix}-base_units": "2",
        f"{prefix}-amount_per_unit": "900",
        f"{prefix}-reason": "Repeat",
    }
    _assert_extras_ignored(
        world,
        client,
        gm_office,
        url=url,
        page=ruling.get_absolute_url(),
        data=data,
        capture=lambda: (_row("penalties.PenaltyLine", line.pk), _row("penalties.PenaltyRuling", ruling.pk)),
    )


def test_an_administrator_cannot_make_anyone_a_superuser_in_the_admin(world, db):
    """Administrators keep the user table (roles, units); only a superuser may hand out superuser status."""
    admin_user = world.users[("HO", Role.ADMINISTRATOR)]
    admin_user.is_staff = True
    admin_user.save(update_fields=["is_staff"])
    client = world.client(("HO", Role.ADMINISTRATOR))
    for target in (admin_user, world.users[("B", Role.DISPATCHER)]):
        url = reverse("admin:servicedesk_user_change", args=[target.pk])
        page = client.get(url)
        assert page.status_code == 200
        form = next(f for f in post_forms(page.text) if "username" in f.fields)
        data = {k: v for k, v in form.values.items()}
        data.update(
            {"is_superuser": "on", "user_permissions": [p for p in form.options.get("user_permissions", [])][:50]}
        )
        response = client.post(url, data)
        assert response.status_code in (200, 302, 403)
        target.refresh_from_db()
        assert not target.is_superuser
        assert not target.user_permissions.exists()
