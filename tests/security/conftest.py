"""One world for the security tests, built once per module through the demo builders and the services.

Unit B (the demo's Shanghai centre) owns one object of every kind; unit A (the Suzhou branch) is the other
branch. Every role has a user in A, in B and in head office; there is also an A user holding every role (only
the unit boundary can stop them) and a user with every role and no unit (deny by default).

The world is written inside one transaction that is rolled back when the module ends; each test runs in a
savepoint inside it (pytest-django's ``db``), so whatever a test changes is undone before the next.
"""

import datetime as dt
import io
import shutil
import tempfile
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from django.apps import apps
from django.conf import settings
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import transaction
from django.test import Client, override_settings
from django.utils import timezone

from servicedesk.models import OrgUnit
from servicedesk.roles import Role
from tests.factories import UserFactory

ROLES = list(Role)


@dataclass
class World:
    unit_a: OrgUnit
    unit_b: OrgUnit
    head_office: OrgUnit
    users: dict  # (place, role) -> user; place in "A", "B", "HO"; plus "a_all", "no_unit"
    objects: dict = field(default_factory=dict)  # kind -> unit B's object of that kind
    variants: dict = field(default_factory=dict)  # kind -> unit B's objects of that kind, one per state
    clients: dict = field(default_factory=dict)  # principal -> (Client, session key)
    # principal -> raw API token of that user (issue 15); plus "expired" and "revoked" tokens of a B user
    tokens: dict = field(default_factory=dict)
    # Customer principals of the portal: ("customer", customer id) -> that customer's contact person.
    contacts: dict = field(default_factory=dict)
    portal_strangers: list = field(default_factory=list)  # customer principals owning none of the objects

    def client(self, principal) -> Client:
        """A logged-in client for ``principal`` (None: anonymous), its session cookie reset for each use."""
        if principal is None:
            return Client(raise_request_exception=False)
        if principal not in self.clients:
            client = Client(raise_request_exception=False)
            if principal in self.contacts:
                portal_login(client, self.contacts[principal])
            else:
                client.force_login(self.users[principal])
            self.clients[principal] = (client, client.cookies[settings.SESSION_COOKIE_NAME].value)
        client, key = self.clients[principal]
        # A logout (or a view that cycles the session) must not leak into the next request.
        client.cookies[settings.SESSION_COOKIE_NAME] = key
        return client


    def token_client(self, principal) -> Client:
        """A client that sends ``principal``'s API token and no session (None: neither)."""
        if principal is None:
            return Client(raise_request_exception=False)
        return Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Bearer {self.tokens[principal]}")


def _tokens(world: World) -> None:
    """An API token for every principal, and an expired and a revoked one of a unit-B user with every role."""
    from api.models import ApiToken
    from api.services import api_token_create, api_token_revoke

    for principal, user in world.users.items():
        world.tokens[principal] = api_token_create(user=user, name="security matrix", lifetime_days=30)[1]
    holder = UserFactory(username="sec-b-tokens", unit=world.unit_b, roles=ROLES)
    expired, world.tokens["expired"] = api_token_create(user=holder, name="expired", lifetime_days=1)
    ApiToken.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    revoked, world.tokens["revoked"] = api_token_create(user=holder, name="revoked", lifetime_days=30)
    api_token_revoke(user=holder, token_id=revoked.pk)
def portal_login(client: Client, contact) -> None:
    """Sign ``client`` in to the portal as ``contact``, as a used sign-in link leaves the session."""
    from portal.principal import SESSION_KEY

    session = client.session
    session[SESSION_KEY] = contact.pk
    session.save()
    client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key


def customer_principal(customer) -> tuple:
    return ("customer", customer.pk)


# kind of object -> the path from it to the customer it belongs to (the portal's objects).
PORTAL_OWNER = {
    "call": "customer",
    "signed_voucher": "call.customer",
    "fee": "voucher.call.customer",
    "card": "call.customer",
    "notice": "term.contract.customer",
}


def portal_owner(obj, kind: str):
    for attr in PORTAL_OWNER[kind].split("."):
        obj = getattr(obj, attr)
    return obj


def _contacts(world: World) -> None:
    """A contact person for the customer of each portal object, another customer of unit B and one of unit A."""
    from repairs.models import Customer, CustomerContact

    owners = {portal_owner(world.objects[kind], kind) for kind in PORTAL_OWNER}
    other_b = Customer.objects.filter(unit=world.unit_b).exclude(pk__in=[c.pk for c in owners]).order_by("pk").first()
    in_a = Customer.objects.filter(unit=world.unit_a).order_by("pk").first()
    assert other_b is not None and in_a is not None, "the security world needs more customers"
    world.portal_strangers = [customer_principal(other_b), customer_principal(in_a)]
    for customer in [*owners, other_b, in_a]:
        contact = CustomerContact.objects.create(customer=customer, name=f"Contact of {customer.pk}")
        world.contacts[customer_principal(customer)] = contact


def _png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 0, 0)).save(out, format="PNG")
    return out.getvalue()


def _extras(world: World) -> None:
    """Objects the demo does not make: an import, an attachment, a pending return, an improvement action."""
    from complaints.models import ComplaintCase
    from complaints.services import case_attachment_add, improvement_action_propose, return_allowance_record
    from contracts.services.imports import contract_import_upload, template_csv
    from servicedesk.models import User

    dispatcher = User.objects.get(username="dispatcher")
    contract_import_upload(
        user=dispatcher, unit=world.unit_b, filename="contracts.csv", content=template_csv().encode("utf-8")
    )
    case = ComplaintCase.objects.filter(unit=world.unit_b, status=ComplaintCase.Status.RECEIVED).order_by("pk").first()
    case_attachment_add(
        user=dispatcher,
        case_id=case.pk,
        upload=SimpleUploadedFile("photo.png", _png(), content_type="image/png"),
        description="Photo of the fault",
    )
    return_allowance_record(
        user=dispatcher,
        case_id=case.pk,
        kind="return",
        invoice_number="INV-SEC-1",
        item="SX-100",
        slip_quantity=Decimal("2"),
        unit_price=Decimal("100.00"),
        slip_amount=Decimal("200.00"),
    )
    from repairs.models import Visit
    from repairs.services import visit_record_no_signature
    from tests.repairs.field import call_on_site, draft_voucher

    draft_voucher(
        technician=User.objects.get(username="tech"),
        call=call_on_site(dispatcher=dispatcher, technician=User.objects.get(username="tech")),
    )
    # A visit the customer could not sign, with its photo (issue 14).
    unsigned = call_on_site(dispatcher=dispatcher, technician=User.objects.get(username="tech"))
    visit_record_no_signature(
        user=User.objects.get(username="tech"),
        visit_id=Visit.objects.get(call=unsigned).pk,
        reason=Visit.NoSignature.ABSENT,
        photo=SimpleUploadedFile("work.png", _png(), content_type="image/png"),
    )
    _export_job(world)
    _inbound_email(world)
    # Parts (issue 14): the B technicians' vans hold the parts the voucher forms post.
    from tests.repairs.field import stock_van

    for place in ("B", "HO"):
        stock_van(technician=world.users[(place, Role.TECHNICIAN)], part_number="RL-9", quantity=5)
        stock_van(technician=world.users[(place, Role.SUPERVISOR)], part_number="RL-9", quantity=5)
    improvement_action_propose(
        user=dispatcher,
        case_id=case.pk,
        proposal="Check the power module batch",
        owner=dispatcher,
        due_on=timezone.localdate() + dt.timedelta(days=7),
    )


def _inbound_email(world: World) -> None:
    """An e-mail of an unknown sender waiting in unit B's queue (the mailbox serves unit B), with a picture, and
    one in quarantine: through the same service the mailbox read hands each message to."""
    from email.message import EmailMessage

    from intake.services import Fetched, inbound_message_receive

    message = EmailMessage()
    message["From"] = "Stranger <stranger@example.net>"
    message["Subject"] = "Copier broken"
    message["Message-ID"] = "<security-world-1@example.net>"
    message.set_content("Please come.")
    message.add_attachment(_png(), maintype="image", subtype="png", filename="photo.png")
    broken = (
        b"From: x@example.net\r\nMessage-ID: <security-world-2@x>\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n.'
    )
    with override_settings(INTAKE_IMAP={**settings.INTAKE_IMAP, "UNIT": world.unit_b.code}):
        for raw in (message.as_bytes(), broken):
            inbound_message_receive(fetched=Fetched(raw=raw, size=len(raw), received_at=timezone.now()))


def _export_job(world: World) -> None:
    """A finished export of unit B, owned by a unit-B user who is none of the matrix's principals: only its
    owner may open it, so every principal (head office too) must get 404."""
    from django.core.files.base import ContentFile

    from servicedesk.models import ExportJob

    owner = UserFactory(username="sec-export-owner", unit=world.unit_b, roles=list(Role))
    job = ExportJob.objects.create(owner=owner, unit=world.unit_b, page="board", status=ExportJob.Status.DONE)
    job.file.save("board.xlsx", ContentFile(b"PK"), save=False)
    job.finished_at = timezone.now()
    job.save()


def _first(model, **filters):
    obj = model.objects.filter(**filters).order_by("pk").first()
    assert obj is not None, f"the security world has no {model.__name__} for {filters}"
    return obj


def _objects(world: World) -> dict:
    """Unit B's object of every kind the URLs name (the registry in test_matrix.py maps kwargs to these)."""
    m = apps.get_model
    b = world.unit_b
    ruling = _first(m("penalties", "PenaltyRuling"), unit=b, status="approved")
    case = _first(m("complaints", "ComplaintCase"), unit=b, status="received", attachments__isnull=False)
    return {
        "call": _first(m("repairs", "RepairCall"), unit=b, status="on_site"),
        "voucher": _first(m("repairs", "ServiceVoucher"), unit=b),
        "visit": _first(m("repairs", "Visit"), unit=b, work_photo__isnull=False),
        "fee": _first(m("repairs", "FeeCollection"), unit=b),
        "card": _first(m("repairs", "RepairCard"), unit=b),
        "register_entry": _first(m("repairs", "RegisterEntry"), unit=b, released_at__isnull=True),
        "delay": _first(m("repairs", "RepairCardDelay"), unit=b),
        "contract": _first(m("contracts", "Contract"), unit=b),
        "term": _first(m("contracts", "ContractTerm"), contract__unit=b),
        "notice": _first(m("contracts", "ExpiryNotice"), unit=b),
        "follow_up": _first(m("contracts", "RenewalFollowUp"), unit=b),
        "import": _first(m("contracts", "ContractImport"), unit=b),
        "survey_batch": _first(m("complaints", "SurveyBatch"), unit=b),
        "survey_card": _first(m("complaints", "SurveyCard"), unit=b, status="issued"),
        "opinion": _first(m("complaints", "CustomerOpinion"), unit=b),
        "case": case,
        "attachment": _first(m("complaints", "CaseAttachment"), case=case),
        "return": _first(m("complaints", "ReturnAllowance"), case=case),
        "improvement_action": _first(m("complaints", "ImprovementAction"), case=case),
        "reminder_slip": _first(m("complaints", "ReminderSlip"), case__unit=b),
        "ruled_case": _first(
            m("complaints", "ComplaintCase"), unit=b, ruled_at__isnull=False, penalty_rulings__isnull=True
        ),
        "ruling": ruling,
        "line": _first(m("penalties", "PenaltyLine"), ruling=ruling),
        "loss": _first(m("penalties", "CaseLoss"), unit=b),
        "export_job": _first(m("servicedesk", "ExportJob"), unit=b, status="done"),
        "quoted_card": _first(m("repairs", "RepairCard"), unit=b, quote__isnull=False),
        "issue_movement": _first(m("parts", "StockMovement"), unit=b, kind="issued"),
        "van_technician": _first(m("servicedesk", "User"), unit=b, username="tech"),
        "customer": _first(m("repairs", "Customer"), unit=b),
        "product": _first(m("repairs", "Product"), customer__unit=b),
        "inbound_message": _first(m("intake", "InboundMessage"), unit=b, status="to_match"),
        "inbound_attachment": _first(m("intake", "InboundAttachment"), message__unit=b, stored_name__isnull=False),
        "signed_voucher": _first(m("repairs", "ServiceVoucher"), unit=b, status="signed"),
    }


# kind -> the path from the object to its unit, for the kinds whose pages change with their state.
VARIANT_UNIT = {
    "call": "unit",
    "voucher": "unit",
    "card": "unit",
    "register_entry": "unit",
    "contract": "unit",
    "term": "contract__unit",
    "follow_up": "unit",
    "opinion": "unit",
    "case": "unit",
    "return": "case__unit",
    "improvement_action": "case__unit",
    "ruling": "unit",
    "loss": "unit",
}


def _variants(world: World) -> dict:
    """Unit B's objects of each kind, one per status (and settlement), so every state's forms are shown."""
    variants = {}
    for kind, unit_path in VARIANT_UNIT.items():
        model = type(world.objects[kind])
        names = {f.name for f in model._meta.concrete_fields}
        state = [n for n in ("status", "settlement", "received_at", "released_at") if n in names]
        picked = {}
        for obj in model.objects.filter(**{unit_path: world.unit_b}).order_by("pk"):
            key = tuple(getattr(obj, n) is None if n.endswith("_at") else getattr(obj, n) for n in state)
            picked.setdefault(key, obj)
        variants[kind] = [world.objects[kind], *(o for o in picked.values() if o.pk != world.objects[kind].pk)]
    return variants


def build_world() -> World:
    call_command("seed_demo", stdout=io.StringIO())
    world = World(
        unit_a=OrgUnit.objects.get(code="sz-branch"),
        unit_b=OrgUnit.objects.get(code="sh-centre"),
        head_office=OrgUnit.objects.get(code="service-dept"),
        users={},
    )
    assert world.head_office.is_head_office and not world.unit_a.is_head_office
    for place, unit in (("A", world.unit_a), ("B", world.unit_b), ("HO", world.head_office)):
        for role in ROLES:
            world.users[(place, role)] = UserFactory(username=f"sec-{place}-{role}".lower(), unit=unit, roles=[role])
    world.users["a_all"] = UserFactory(username="sec-a-all", unit=world.unit_a, roles=ROLES)
    world.users["no_unit"] = UserFactory(username="sec-no-unit", unit=None, roles=ROLES)
    _extras(world)
    world.objects = _objects(world)
    world.variants = _variants(world)
    _tokens(world)
    _contacts(world)
    # Logged in now, outside every test's savepoint, so the sessions outlive the tests.
    for principal in [*world.users, *world.contacts]:
        world.client(principal)
    return world


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    media = tempfile.mkdtemp(prefix="sd-security-media-")
    overrides = override_settings(MEDIA_ROOT=media)
    overrides.enable()
    cache.clear()
    try:
        with django_db_blocker.unblock():
            with transaction.atomic():
                yield build_world()
                transaction.set_rollback(True)
    finally:
        overrides.disable()
        cache.clear()
        shutil.rmtree(media, ignore_errors=True)


@pytest.fixture(scope="module")
def fast_pdfs():
    """Templates are still rendered (that is where a 500 would come from); the page layout is skipped."""
    from weasyprint import HTML

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(HTML, "write_pdf", lambda self, *args, **kwargs: b"%PDF-1.7\n% layout skipped in this test\n")
        yield
