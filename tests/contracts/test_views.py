import datetime as dt
import io

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from contracts.models import Contract, ContractImport, ContractTerm, ExpiryNotice, RenewalFollowUp
from contracts.services import contract_import_upload, contract_notices_issue
from tests.factories import CustomerFactory, ProductFactory, SiteFactory, UserFactory

TODAY = timezone.localdate()
DAY = dt.timedelta(days=1)


@pytest.fixture
def contracts(dispatcher, make_contract):
    """One contract in each state of the list."""
    made = {
        "active": make_contract(user=dispatcher, start_on=TODAY - 10 * DAY, end_on=TODAY + 200 * DAY),
        "expiring": make_contract(user=dispatcher, start_on=TODAY - 300 * DAY, end_on=TODAY + 10 * DAY),
        "expired": make_contract(user=dispatcher, start_on=TODAY - 400 * DAY, end_on=TODAY - 5 * DAY),
        "renewed": make_contract(user=dispatcher, start_on=TODAY - 350 * DAY, end_on=TODAY + 15 * DAY),
    }
    from decimal import Decimal

    from contracts.services import contract_term_renew

    contract_term_renew(
        user=dispatcher,
        term_id=made["renewed"].terms.get().pk,
        end_on=TODAY + 380 * DAY,
        fee=Decimal("100"),
        visit_frequency="yearly",
    )
    return made


def numbers(response):
    return {term.contract.number for term in response.context["page"].object_list}


def test_the_list_filters_by_state(client, dispatcher, contracts):
    client.force_login(dispatcher)
    url = reverse("contracts:list")
    assert numbers(client.get(url)) == {c.number for c in contracts.values()}
    assert numbers(client.get(url, {"state": "active"})) == {contracts["active"].number, contracts["renewed"].number}
    assert numbers(client.get(url, {"state": "expiring"})) == {contracts["expiring"].number}
    assert numbers(client.get(url, {"state": "expired"})) == {contracts["expired"].number}
    assert numbers(client.get(url, {"state": "renewed"})) == {contracts["renewed"].number}


def test_the_list_searches_by_customer_number_and_serial(client, dispatcher, contracts):
    client.force_login(dispatcher)
    url = reverse("contracts:list")
    target = contracts["expiring"]
    serial = target.products.get().serial_number
    assert numbers(client.get(url, {"q": target.customer.name})) == {target.number}
    assert numbers(client.get(url, {"q": target.number})) == {target.number}
    assert numbers(client.get(url, {"q": serial})) == {target.number}
    assert numbers(client.get(url, {"q": "nothing-like-this"})) == set()


def test_the_list_runs_a_fixed_number_of_queries(client, dispatcher, make_contract, django_assert_max_num_queries):
    client.force_login(dispatcher)
    make_contract(user=dispatcher, start_on=TODAY, end_on=TODAY + 300 * DAY)
    client.get(reverse("contracts:list"))  # warm the session and permission caches
    with django_assert_max_num_queries(30) as few:
        client.get(reverse("contracts:list"))
    for _ in range(25):
        make_contract(user=dispatcher, start_on=TODAY, end_on=TODAY + 300 * DAY)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(reverse("contracts:list"))
    assert len(response.context["page"].object_list) == 26


def test_the_list_shows_only_the_own_units_contracts(client, dispatcher, other_dispatcher, make_contract):
    mine = make_contract(user=dispatcher, start_on=TODAY, end_on=TODAY + 300 * DAY)
    theirs = make_contract(user=other_dispatcher, start_on=TODAY, end_on=TODAY + 300 * DAY)
    client.force_login(dispatcher)
    assert numbers(client.get(reverse("contracts:list"))) == {mine.number}
    client.force_login(other_dispatcher)
    assert numbers(client.get(reverse("contracts:list"))) == {theirs.number}


def test_head_office_sees_every_units_contracts(client, dispatcher, other_dispatcher, head_office_user, make_contract):
    mine = make_contract(user=dispatcher, start_on=TODAY, end_on=TODAY + 300 * DAY)
    theirs = make_contract(user=other_dispatcher, start_on=TODAY, end_on=TODAY + 300 * DAY)
    client.force_login(head_office_user)
    response = client.get(reverse("contracts:list"))
    assert numbers(response) == {mine.number, theirs.number}
    assert numbers(client.get(reverse("contracts:list"), {"unit": other_dispatcher.unit_id})) == {theirs.number}
    # ... and may look, not change.
    assert client.get(reverse("contracts:new")).status_code == 403


def test_a_technician_has_no_contract_pages(client, technician):
    client.force_login(technician)
    assert client.get(reverse("contracts:list")).status_code == 403


def test_a_dispatcher_creates_a_contract_from_the_form(client, dispatcher, contract_type):
    customer = CustomerFactory(unit=dispatcher.unit)
    product = ProductFactory(customer=customer)
    site = SiteFactory(customer=customer)
    client.force_login(dispatcher)
    response = client.post(
        reverse("contracts:new"),
        {
            "customer": customer.pk,
            "contract_type": contract_type.pk,
            "start_on": "2030-04-01",
            "end_on": "2031-03-31",
            "fee": "1200.00",
            "visit_frequency": "quarterly",
            "serial_numbers": f"{product.serial_number}\n",
            "sites": [site.pk],
            "handled_by": dispatcher.pk,
        },
    )
    contract = Contract.objects.get()
    assert response.status_code == 302
    assert response.url == contract.get_absolute_url()
    assert contract.number.startswith("MC-")
    assert list(contract.products.all()) == [product]
    assert list(contract.sites.all()) == [site]
    assert contract.terms.get().notice_on == dt.date(2031, 2, 28)


def test_a_bad_contract_form_saves_nothing(client, dispatcher, contract_type):
    customer = CustomerFactory(unit=dispatcher.unit)
    client.force_login(dispatcher)
    response = client.post(
        reverse("contracts:new"),
        {
            "customer": customer.pk,
            "contract_type": contract_type.pk,
            "start_on": "2030-04-01",
            "end_on": "2030-03-31",
            "fee": "-1",
            "visit_frequency": "quarterly",
            "serial_numbers": "NO-SUCH-SERIAL",
        },
    )
    assert response.status_code == 400
    assert not Contract.objects.exists()
    response = client.post(
        reverse("contracts:new"),
        {
            "customer": customer.pk,
            "contract_type": contract_type.pk,
            "start_on": "2030-04-01",
            "end_on": "2031-03-31",
            "fee": "1",
            "visit_frequency": "quarterly",
            "serial_numbers": "NO-SUCH-SERIAL",
        },
    )
    assert response.status_code == 400
    assert "NO-SUCH-SERIAL" in response.text
    assert not Contract.objects.exists()


def test_renewing_from_the_contract_page(client, dispatcher, make_contract):
    contract = make_contract(user=dispatcher, start_on=TODAY - 300 * DAY, end_on=TODAY + 10 * DAY)
    term = contract.terms.get()
    client.force_login(dispatcher)
    page = client.get(contract.get_absolute_url())
    assert page.context["renew_form"].initial["start_on"] == term.end_on + DAY
    response = client.post(
        reverse("contracts:term_renew", args=[term.pk]),
        {
            "version": term.version,
            "start_on": (term.end_on + DAY).isoformat(),
            "end_on": (term.end_on + 365 * DAY).isoformat(),
            "fee": "1500.00",
            "visit_frequency": "monthly",
        },
    )
    assert response.status_code == 302
    assert contract.terms.count() == 2
    # A stale form (the version it showed is old) is refused, not applied twice.
    response = client.post(
        reverse("contracts:term_renew", args=[term.pk]),
        {
            "version": term.version,
            "start_on": (term.end_on + DAY).isoformat(),
            "end_on": (term.end_on + 365 * DAY).isoformat(),
            "fee": "1500.00",
            "visit_frequency": "monthly",
        },
    )
    assert response.status_code == 400
    assert contract.terms.count() == 2


def test_recording_a_declined_follow_up(client, dispatcher, make_contract):
    make_contract(user=dispatcher, start_on=TODAY - 300 * DAY, end_on=TODAY + 10 * DAY)
    contract_notices_issue(today=TODAY)
    follow_up = RenewalFollowUp.objects.get()
    client.force_login(dispatcher)
    listing = client.get(reverse("contracts:follow_ups"), {"due": ""})
    assert follow_up in listing.context["follow_ups"]
    response = client.post(
        reverse("contracts:follow_up_outcome", args=[follow_up.pk]),
        {"version": follow_up.version, "outcome": "declined", "note": ""},
    )
    assert response.status_code == 400
    response = client.post(
        reverse("contracts:follow_up_outcome", args=[follow_up.pk]),
        {"version": follow_up.version, "outcome": "declined", "note": "换了供应商"},
    )
    assert response.status_code == 302
    follow_up.refresh_from_db()
    assert follow_up.status == RenewalFollowUp.Status.DECLINED
    assert follow_up not in client.get(reverse("contracts:follow_ups")).context["follow_ups"]


def test_the_follow_ups_page_lists_those_due_first(client, dispatcher, make_contract):
    later = make_contract(user=dispatcher, start_on=TODAY - 300 * DAY, end_on=TODAY + 25 * DAY)
    sooner = make_contract(user=dispatcher, start_on=TODAY - 300 * DAY, end_on=TODAY + 3 * DAY)
    contract_notices_issue(today=TODAY)
    client.force_login(dispatcher)
    rows = client.get(reverse("contracts:follow_ups")).context["follow_ups"]
    assert [f.term.contract for f in rows] == [sooner, later]
    assert client.get(reverse("contracts:list")).context["follow_ups_due"] == 0


def test_assigning_a_follow_up_to_someone_of_the_unit(client, dispatcher, supervisor, make_contract):
    make_contract(user=dispatcher, start_on=TODAY - 300 * DAY, end_on=TODAY + 10 * DAY)
    contract_notices_issue(today=TODAY)
    follow_up = RenewalFollowUp.objects.get()
    client.force_login(dispatcher)
    response = client.post(
        reverse("contracts:follow_up_assign", args=[follow_up.pk]),
        {"version": follow_up.version, "assigned_to": supervisor.pk, "due_on": (TODAY + 2 * DAY).isoformat()},
    )
    assert response.status_code == 302
    follow_up.refresh_from_db()
    assert (follow_up.assigned_to, follow_up.due_on) == (supervisor, TODAY + 2 * DAY)


def test_the_notice_pdf_names_the_customer_and_the_contract_in_chinese(client, dispatcher, make_contract):
    customer = CustomerFactory(unit=dispatcher.unit, name="上海精密机械有限公司", email="a@example.com")
    contract = make_contract(
        user=dispatcher, customer=customer, start_on=dt.date(2030, 4, 1), end_on=dt.date(2031, 3, 31)
    )
    contract_notices_issue(today=dt.date(2031, 2, 28))
    notice = ExpiryNotice.objects.get()
    client.force_login(dispatcher)
    response = client.get(reverse("contracts:notice_pdf", args=[notice.pk]))
    assert response["Content-Type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    text = "".join(text.split())  # the extractor may break lines anywhere
    assert "保养到期通知书" in text
    assert "上海精密机械有限公司" in text
    assert contract.number in text
    assert notice.number in text
    assert "2031-03-31" in text


# --- Branch isolation: every contracts URL with another unit's record is a 404 ------------------------


@pytest.fixture
def their_records(other_dispatcher, make_contract):
    contract = make_contract(user=other_dispatcher, start_on=TODAY - 300 * DAY, end_on=TODAY + 10 * DAY)
    contract_notices_issue(today=TODAY)
    term = contract.terms.get()
    batch = contract_import_upload(
        user=other_dispatcher, unit=other_dispatcher.unit, filename="x.csv", content=b"contract_number\n"
    )
    return {
        "contract": contract,
        "term": term,
        "notice": ExpiryNotice.objects.get(term=term),
        "follow_up": RenewalFollowUp.objects.get(term=term),
        "import": batch,
    }


@pytest.mark.parametrize(
    ("method", "name", "record"),
    [
        ("get", "contracts:detail", "contract"),
        ("post", "contracts:term_renew", "term"),
        ("get", "contracts:notice_pdf", "notice"),
        ("get", "contracts:follow_up", "follow_up"),
        ("post", "contracts:follow_up_outcome", "follow_up"),
        ("post", "contracts:follow_up_assign", "follow_up"),
        ("get", "contracts:import_detail", "import"),
        ("get", "contracts:import_progress", "import"),
        ("post", "contracts:import_valid_rows", "import"),
        ("post", "contracts:import_restart", "import"),
    ],
)
def test_another_units_record_is_not_found(dispatcher, their_records, method, name, record):
    client = Client(enforce_csrf_checks=True)
    client.force_login(dispatcher)
    url = reverse(name, args=[their_records[record].pk])
    if method == "post":
        client.get(reverse("contracts:list"))
        token = client.cookies["csrftoken"].value
        response = client.post(
            url,
            {
                "version": 1,
                "outcome": "no_answer",
                "end_on": "2040-01-01",
                "start_on": "2039-01-01",
                "fee": "1",
                "visit_frequency": "yearly",
                "due_on": "2040-01-01",
            },
            headers={"X-CSRFToken": token},
        )
    else:
        response = client.get(url)
    assert response.status_code == 404
    their_records["term"].refresh_from_db()
    assert their_records["term"].status == ContractTerm.Status.ACTIVE
    assert RenewalFollowUp.objects.get().status == RenewalFollowUp.Status.OPEN
    assert ContractImport.objects.get().status == ContractImport.Status.QUEUED


def test_every_contracts_url_is_covered_by_the_isolation_test():
    from contracts.urls import urlpatterns

    with_pk = {p.name for p in urlpatterns if "<int:pk>" in str(p.pattern)}
    tested = {name.split(":")[1] for _m, name, _r in test_another_units_record_is_not_found.pytestmark[0].args[1]}
    assert with_pk == tested


def test_a_user_without_a_unit_sees_no_contracts(client, dispatcher, make_contract):
    make_contract(user=dispatcher, start_on=TODAY, end_on=TODAY + 300 * DAY)
    from servicedesk.roles import Role

    loner = UserFactory(username="loner", unit=None, roles=[Role.DISPATCHER])
    client.force_login(loner)
    assert numbers(client.get(reverse("contracts:list"))) == set()
