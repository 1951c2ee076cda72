"""The pages of inbound e-mail: the queue a dispatcher resolves, the quarantine, a message and its files,
each scoped to the user's unit. Messages are read from the real IMAP server, as the beat task reads them."""

import io

import pytest
from django.urls import reverse
from PIL import Image

from intake.mailbox import mailbox_read
from intake.models import InboundMessage
from repairs.models import RepairCall
from servicedesk.roles import Role
from servicedesk.workflow import history_for
from tests.factories import CustomerFactory, OrgUnitFactory, ProductFactory, SiteFactory, UserFactory

from .conftest import email_message

pytestmark = pytest.mark.django_db

MALFORMED = b'From: x@example.com\r\nMessage-ID: <m@x>\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\nnone\r\n'


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (0, 0, 200)).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def queued(mailbox, settings, unit):
    """An unknown sender's message, waiting in unit's queue, with a picture attached."""
    settings.INTAKE_IMAP = {**settings.INTAKE_IMAP, "UNIT": unit.code}
    mailbox.append(
        email_message(sender="new@example.net", name="Ms Li", attachments=[("p.png", _png(), "image", "png")])
    )
    mailbox_read()
    return InboundMessage.objects.get()


def _login(client, user):
    client.force_login(user)
    return client


def test_the_queue_shows_a_units_messages_to_its_desk_only(client, queued, dispatcher, other_dispatcher, technician):
    page = _login(client, dispatcher).get(reverse("intake:queue"))
    assert page.status_code == 200 and "new@example.net" in page.content.decode()
    assert "new@example.net" not in _login(client, other_dispatcher).get(reverse("intake:queue")).content.decode()
    assert _login(client, other_dispatcher).get(reverse("intake:match", args=[queued.pk])).status_code == 404
    assert _login(client, technician).get(reverse("intake:queue")).status_code == 403


def test_a_message_of_no_unit_is_for_head_office(client, mailbox, dispatcher, head_office):
    mailbox.append(email_message(sender="new@example.net"))  # no mailbox unit configured
    mailbox_read()
    message = InboundMessage.objects.get()
    assert message.unit is None
    assert _login(client, dispatcher).get(reverse("intake:match", args=[message.pk])).status_code == 404
    head = UserFactory(username="ho-dispatcher", unit=head_office, roles=[Role.DISPATCHER])
    assert "new@example.net" in _login(client, head).get(reverse("intake:queue")).content.decode()


def test_the_dispatcher_matches_a_message_and_it_becomes_a_call_received_when_the_email_came(
    client, queued, dispatcher, unit
):
    customer = CustomerFactory(unit=unit, name="Li Printing", phone="021-6000-0001")
    site = SiteFactory(customer=customer)
    product = ProductFactory(customer=customer, site=site)
    _login(client, dispatcher)
    search = client.get(reverse("intake:match", args=[queued.pk]), {"q": "Li Printing"})
    assert "Li Printing" in search.content.decode()
    chosen = client.get(reverse("intake:match", args=[queued.pk]), {"q": "Li Printing", "customer": customer.pk})
    assert 'id="match-form"' in chosen.content.decode()

    response = client.post(
        reverse("intake:match", args=[queued.pk]),
        {
            "customer": customer.pk,
            "site": site.pk,
            "product": product.pk,
            "contact_name": "Ms Li",
            "contact_phone": "021-6000-0001",
            "problem": "Copier jams",
            "version": queued.version,
        },
    )

    call = RepairCall.objects.get()
    assert response.status_code == 302 and response.url == call.get_absolute_url()
    assert (call.channel, call.customer, call.site, call.product) == (RepairCall.Channel.EMAIL, customer, site, product)
    assert call.received_at == queued.received_at and call.created_by == dispatcher
    queued.refresh_from_db()
    assert queued.status == InboundMessage.Status.MATCHED and queued.call == call and queued.matched_by == dispatcher
    assert history_for(queued).get().to_status == InboundMessage.Status.MATCHED
    # Matched once: a second POST (another tab) logs nothing more.
    again = client.post(reverse("intake:match", args=[queued.pk]), {"customer": customer.pk, "site": site.pk})
    assert again.status_code == 302 and RepairCall.objects.count() == 1


def test_another_units_customer_cannot_be_chosen(client, queued, dispatcher, other_unit):
    foreign = CustomerFactory(unit=other_unit)
    site = SiteFactory(customer=foreign)
    response = _login(client, dispatcher).post(
        reverse("intake:match", args=[queued.pk]),
        {
            "customer": foreign.pk,
            "site": site.pk,
            "contact_name": "x",
            "contact_phone": "021-6000-0001",
            "problem": "x",
            "version": queued.version,
        },
    )
    assert response.status_code == 200 and not RepairCall.objects.exists()
    queued.refresh_from_db()
    assert queued.status == InboundMessage.Status.TO_MATCH


def test_an_attachment_is_downloaded_by_its_units_desk_only(client, queued, dispatcher, other_dispatcher):
    attachment = queued.attachments.get()
    url = reverse("intake:attachment", args=[attachment.pk])
    response = _login(client, dispatcher).get(url)
    assert response.status_code == 200 and b"".join(response.streaming_content) == _png()
    assert response["Content-Disposition"].startswith("attachment")
    assert _login(client, other_dispatcher).get(url).status_code == 404


def test_the_quarantine_page_lists_the_reason_for_dispatchers_and_administrators(
    client, mailbox, settings, unit, dispatcher, technician
):
    settings.INTAKE_IMAP = {**settings.INTAKE_IMAP, "UNIT": unit.code}
    mailbox.append(MALFORMED)
    mailbox_read()
    message = InboundMessage.objects.get()
    assert message.status == InboundMessage.Status.QUARANTINED and message.unit == unit  # the mailbox's desk
    page = _login(client, dispatcher).get(reverse("intake:quarantine"))
    assert page.status_code == 200
    assert str(InboundMessage.Reason.MALFORMED.label) in page.content.decode()
    admin = UserFactory(username="intake-admin", unit=unit, roles=[Role.ADMINISTRATOR])
    assert _login(client, admin).get(reverse("intake:quarantine")).status_code == 200
    assert _login(client, admin).get(reverse("intake:message", args=[message.pk])).status_code == 200
    assert _login(client, technician).get(reverse("intake:quarantine")).status_code == 403
    assert str(InboundMessage.Reason.MALFORMED.label) not in (
        _login(client, UserFactory(username="sz-d", unit=OrgUnitFactory(code="elsewhere"), roles=[Role.DISPATCHER]))
        .get(reverse("intake:quarantine"))
        .content.decode()
    )


def test_the_queue_runs_a_fixed_number_of_queries(
    client, mailbox, settings, unit, dispatcher, django_assert_max_num_queries
):
    settings.INTAKE_IMAP = {**settings.INTAKE_IMAP, "UNIT": unit.code}
    mailbox.append(email_message(sender="a@example.net", attachments=[("p.png", _png(), "image", "png")]))
    mailbox_read()
    _login(client, dispatcher)
    with django_assert_max_num_queries(20) as one:
        client.get(reverse("intake:queue"))
    for n in range(8):
        mailbox.append(email_message(sender=f"s{n}@example.net", attachments=[("p.png", _png(), "image", "png")]))
    mailbox_read()
    assert InboundMessage.objects.count() == 9
    with django_assert_max_num_queries(len(one.captured_queries)):
        client.get(reverse("intake:queue"))
