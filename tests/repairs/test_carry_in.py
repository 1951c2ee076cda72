import csv
import datetime as dt
import io
import threading

import pytest
from django.core import mail
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from repairs import services
from repairs.models import RegisterEntry, RepairCall, RepairCard, RepairCardDelay
from repairs.notices import CARD_LATE
from servicedesk.exceptions import ApplicationError
from servicedesk.models import Notification
from servicedesk.notifications import notifications_deliver_pending
from servicedesk.workflow import history_for
from tests.conftest import is_postgres
from tests.factories import UserFactory

from .field import call_on_site, carried_in, draft_voucher, png_signature, signed_voucher


def _booked_in(card, clerk):
    services.register_entry_receive(user=clerk, entry_id=card.register_entry.pk, storage_location="Shelf B-2")


def test_carrying_in_opens_card_register_entry_and_receipt(dispatcher, technician):
    card = carried_in(dispatcher=dispatcher, technician=technician)
    card.call.refresh_from_db()
    entry = card.register_entry
    assert card.call.status == RepairCall.Status.CARRIED_IN
    assert card.status == RepairCard.Status.WAITING
    assert card.number.startswith("RK-") and entry.receipt_number.startswith("PR-")
    assert entry.in_our_hands and entry.received_at is None and entry.taken_by == technician
    assert entry.item_description == str(card.call.product)
    assert card.voucher.status == "signed"


def test_carrying_in_needs_a_signed_voucher_of_the_call(dispatcher, technician):
    call = call_on_site(dispatcher=dispatcher, technician=technician)
    draft = draft_voucher(technician=technician, call=call)
    with pytest.raises(ApplicationError) as exc:
        services.carry_in_open(
            user=technician,
            call_id=call.pk,
            voucher_id=draft.pk,
            fault_found="x",
            work_planned="y",
            promised_at=timezone.now() + dt.timedelta(days=1),
        )
    assert exc.value.field == "voucher"
    call.refresh_from_db()
    assert call.status == RepairCall.Status.ON_SITE and not RepairCard.objects.exists()


def test_a_resolved_call_cannot_be_carried_in(dispatcher, technician):
    call = call_on_site(dispatcher=dispatcher, technician=technician)
    voucher = signed_voucher(technician=technician, call=call)
    services.repair_call_resolve(user=technician, call_id=call.pk, outcome="fixed")
    with pytest.raises(ApplicationError):
        services.carry_in_open(
            user=technician,
            call_id=call.pk,
            voucher_id=voucher.pk,
            fault_found="x",
            work_planned="y",
            promised_at=timezone.now() + dt.timedelta(days=1),
        )


def test_repair_work_waits_for_the_clerk_to_book_the_product_in(dispatcher, technician):
    card = carried_in(dispatcher=dispatcher, technician=technician)
    with pytest.raises(ApplicationError, match="book"):
        services.repair_card_transition(user=technician, card_id=card.pk, to_status="in_repair")
    _booked_in(card, dispatcher)
    entry = RegisterEntry.objects.get(pk=card.register_entry.pk)
    assert entry.received_by == dispatcher and entry.storage_location == "Shelf B-2"
    with pytest.raises(ApplicationError, match="already booked"):
        _booked_in(card, dispatcher)


def test_the_card_follows_its_transition_table_with_history(dispatcher, technician):
    card = carried_in(dispatcher=dispatcher, technician=technician)
    _booked_in(card, dispatcher)
    with pytest.raises(ApplicationError):
        services.repair_card_transition(user=technician, card_id=card.pk, to_status="repaired")
    with pytest.raises(ApplicationError, match="register"):
        services.repair_card_transition(user=technician, card_id=card.pk, to_status="returned")
    for status in ("in_repair", "waiting_parts", "in_repair", "repaired"):
        services.repair_card_transition(user=technician, card_id=card.pk, to_status=status, note=f"→ {status}")
    card.refresh_from_db()
    assert card.status == RepairCard.Status.REPAIRED and card.repaired_at is not None
    assert [c.to_status for c in history_for(card)] == [
        "waiting",
        "in_repair",
        "waiting_parts",
        "in_repair",
        "repaired",
    ]


def test_a_dispatcher_cannot_work_on_a_card(dispatcher, technician):
    card = carried_in(dispatcher=dispatcher, technician=technician)
    _booked_in(card, dispatcher)
    with pytest.raises(ApplicationError):
        services.repair_card_transition(user=dispatcher, card_id=card.pk, to_status="in_repair")


def test_repaired_tells_the_customer_who_has_an_email(dispatcher, technician):
    card = carried_in(dispatcher=dispatcher, technician=technician, email="buyer@example.com")
    _booked_in(card, dispatcher)
    services.repair_card_transition(user=technician, card_id=card.pk, to_status="in_repair")
    services.repair_card_transition(user=technician, card_id=card.pk, to_status="repaired")
    assert (
        Notification.objects.filter(to_email="buyer@example.com", dedupe_key__startswith="repair-card-repaired").count()
        == 1
    )


def _repaired(card, dispatcher, technician):
    _booked_in(card, dispatcher)
    services.repair_card_transition(user=technician, card_id=card.pk, to_status="in_repair")
    services.repair_card_transition(user=technician, card_id=card.pk, to_status="repaired")


def test_returning_the_product_takes_it_out_of_the_register_and_closes_the_call(dispatcher, technician):
    card = carried_in(dispatcher=dispatcher, technician=technician)
    entry = card.register_entry
    with pytest.raises(ApplicationError):  # not booked in, not repaired
        services.register_entry_release(
            user=dispatcher,
            entry_id=entry.pk,
            release_kind="picked_up",
            released_to_name="A",
            signature_png=png_signature(),
        )
    _repaired(card, dispatcher, technician)
    with pytest.raises(ApplicationError) as exc:
        services.register_entry_release(
            user=dispatcher, entry_id=entry.pk, release_kind="delivered", released_to_name="A", signature_png=b""
        )
    assert exc.value.field == "signature"
    services.register_entry_release(
        user=dispatcher,
        entry_id=entry.pk,
        release_kind="delivered",
        released_to_name="王先生",
        signature_png=png_signature(),
    )
    entry.refresh_from_db()
    card.refresh_from_db()
    call = RepairCall.objects.get(pk=card.call_id)
    assert not entry.in_our_hands and entry.release_kind == "delivered" and entry.released_by == dispatcher
    assert card.status == RepairCard.Status.RETURNED
    assert call.status == RepairCall.Status.CLOSED and call.closed_at is not None
    with pytest.raises(ApplicationError, match="already left"):
        services.register_entry_release(
            user=dispatcher,
            entry_id=entry.pk,
            release_kind="delivered",
            released_to_name="A",
            signature_png=png_signature(),
        )


# --- Promised time and the escalation check ------------------------------------------------------------


@pytest.fixture
def late_card(dispatcher, technician, supervisor):
    card = carried_in(dispatcher=dispatcher, technician=technician)
    RepairCard.objects.filter(pk=card.pk).update(promised_at=timezone.now() - dt.timedelta(hours=1))
    card.refresh_from_db()
    return card


def _late_notices():
    return Notification.objects.filter(dedupe_key__startswith="repair-card-late:")


def test_a_card_past_its_promised_time_is_escalated_to_the_supervisor_once(late_card, supervisor):
    now = timezone.now()
    assert services.repair_cards_escalate_late(now=now) == 1
    assert services.repair_cards_escalate_late(now=now) == 0
    assert services.repair_cards_escalate_late(now=now + dt.timedelta(hours=5)) == 0  # a late run
    delay = RepairCardDelay.objects.get(card=late_card)
    assert delay.escalated_at is not None and delay.promised_at == late_card.promised_at
    assert list(_late_notices().values_list("recipient", flat=True)) == [supervisor.pk]


def test_the_escalation_notice_is_rendered_when_delivered(late_card, supervisor):
    services.repair_cards_escalate_late(now=timezone.now())
    notice = _late_notices().get()
    delay = RepairCardDelay.objects.get(card=late_card)
    assert (notice.kind, notice.object_id, notice.subject) == (CARD_LATE, delay.pk, "")
    assert notifications_deliver_pending() >= 1
    [email] = [m for m in mail.outbox if m.to == [supervisor.email]]
    assert email.subject == f"Repair {late_card.number} is past its promised time"
    promised = timezone.localtime(delay.promised_at).strftime("%Y-%m-%d %H:%M")
    assert f"The repair for {late_card.call.customer.name}" in email.body and promised in email.body
    notice.refresh_from_db()
    assert (notice.subject, notice.body) == (email.subject, email.body)


def test_a_card_not_yet_due_or_finished_is_not_escalated(dispatcher, technician, supervisor):
    carried_in(dispatcher=dispatcher, technician=technician)
    assert services.repair_cards_escalate_late(now=timezone.now()) == 0


def test_escalation_reaches_only_the_cards_units_supervisors(late_card, supervisor, other_unit):
    UserFactory(username="sz-sup", unit=other_unit, roles=["supervisor"])
    services.repair_cards_escalate_late(now=timezone.now())
    assert set(_late_notices().values_list("recipient__username", flat=True)) == {"supervisor"}


def test_a_new_promised_time_starts_a_new_cycle(late_card, supervisor):
    services.repair_cards_escalate_late(now=timezone.now())
    new_time = timezone.now() + dt.timedelta(hours=2)
    services.repair_card_reschedule(
        user=supervisor, card_id=late_card.pk, new_promised_at=new_time, reason="parts late"
    )
    assert services.repair_cards_escalate_late(now=timezone.now()) == 0
    assert services.repair_cards_escalate_late(now=new_time + dt.timedelta(minutes=1)) == 1
    assert services.repair_cards_escalate_late(now=new_time + dt.timedelta(minutes=2)) == 0
    assert RepairCardDelay.objects.filter(card=late_card).count() == 2
    assert _late_notices().count() == 2


def test_a_card_the_technician_reported_is_not_escalated(dispatcher, technician, supervisor):
    card = carried_in(dispatcher=dispatcher, technician=technician, promised_in=dt.timedelta(hours=1))
    new_time = timezone.now() + dt.timedelta(days=1)
    services.repair_card_report_delay(
        user=technician, card_id=card.pk, reason="waiting for parts", new_promised_at=new_time
    )
    assert services.repair_cards_escalate_late(now=timezone.now() + dt.timedelta(hours=2)) == 0
    assert (
        Notification.objects.filter(dedupe_key__startswith="repair-card-delay-reported:", recipient=supervisor).count()
        == 1
    )
    card.refresh_from_db()
    assert card.promised_at == new_time


def test_reporting_after_the_escalation_answers_it(late_card, technician):
    services.repair_cards_escalate_late(now=timezone.now())
    services.repair_card_report_delay(
        user=technician,
        card_id=late_card.pk,
        reason="board on order",
        new_promised_at=timezone.now() + dt.timedelta(days=2),
    )
    delay = RepairCardDelay.objects.get(card=late_card)
    assert delay.escalated_at and delay.reported_by == technician and delay.new_promised_at


def test_the_customer_hears_of_the_new_time_by_email_or_letter(dispatcher, technician, supervisor):
    with_email = carried_in(dispatcher=dispatcher, technician=technician, email="c@example.com")
    without = carried_in(dispatcher=dispatcher, technician=technician)
    new_time = timezone.now() + dt.timedelta(days=5)
    for card in (with_email, without):
        services.repair_card_reschedule(user=supervisor, card_id=card.pk, new_promised_at=new_time)
    assert RepairCardDelay.objects.get(card=with_email).customer_notice == "email"
    assert RepairCardDelay.objects.get(card=without).customer_notice == "letter"
    notifications_deliver_pending()
    assert [m.to for m in mail.outbox if "c@example.com" in m.to] == [["c@example.com"]]


def test_a_new_promised_time_must_be_later_and_in_the_future(late_card, supervisor):
    with pytest.raises(ApplicationError):
        services.repair_card_reschedule(
            user=supervisor, card_id=late_card.pk, new_promised_at=timezone.now() - dt.timedelta(minutes=5)
        )


def test_the_supervisors_page_lists_escalated_cards_and_letters(client, late_card, supervisor):
    services.repair_cards_escalate_late(now=timezone.now())
    client.force_login(supervisor)
    page = client.get(reverse("repairs:supervision"))
    assert page.status_code == 200 and late_card.number in page.text
    response = client.post(
        reverse("repairs:card_action", args=[late_card.pk, "reschedule"]),
        {
            "new_promised_at": (timezone.localtime() + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
            "back": "supervision",
        },
    )
    assert response.status_code == 302
    delay = RepairCardDelay.objects.get(card=late_card)
    letter = client.get(reverse("repairs:delay_letter_pdf", args=[delay.pk]))
    assert letter.status_code == 200 and letter["Content-Type"] == "application/pdf"
    client.post(reverse("repairs:delay_letter_sent", args=[delay.pk]))
    delay.refresh_from_db()
    assert delay.letter_sent_at is not None


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.skipif(not is_postgres(), reason="needs PostgreSQL row locks")
def test_concurrent_checks_escalate_each_promised_time_once(dispatcher, technician, supervisor):
    cards = [carried_in(dispatcher=dispatcher, technician=technician) for _ in range(6)]
    RepairCard.objects.filter(pk__in=[c.pk for c in cards]).update(promised_at=timezone.now() - dt.timedelta(hours=1))
    now = timezone.now()
    barrier = threading.Barrier(3)
    counts = []

    def run():
        try:
            barrier.wait()
            counts.append(services.repair_cards_escalate_late(now=now, batch_size=2))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(counts) == 6
    assert RepairCardDelay.objects.count() == 6
    assert _late_notices().count() == 6


# --- The register page ---------------------------------------------------------------------------------


def test_the_register_shows_products_in_our_hands_where_and_since_when(client, dispatcher, technician):
    card = carried_in(dispatcher=dispatcher, technician=technician)
    _booked_in(card, dispatcher)
    gone = carried_in(dispatcher=dispatcher, technician=technician)
    _repaired(gone, dispatcher, technician)
    services.register_entry_release(
        user=dispatcher,
        entry_id=gone.register_entry.pk,
        release_kind="picked_up",
        released_to_name="A",
        signature_png=png_signature(),
    )
    client.force_login(dispatcher)
    page = client.get(reverse("repairs:register"))
    assert card.register_entry.receipt_number in page.text and "Shelf B-2" in page.text
    assert card.call.number in page.text
    assert gone.register_entry.receipt_number not in page.text


def test_the_register_filters_by_age_and_exports_csv(client, dispatcher, technician):
    old = carried_in(dispatcher=dispatcher, technician=technician)
    RegisterEntry.objects.filter(pk=old.register_entry.pk).update(taken_at=timezone.now() - dt.timedelta(days=10))
    new = carried_in(dispatcher=dispatcher, technician=technician)
    client.force_login(dispatcher)
    page = client.get(reverse("repairs:register"), {"min_age_days": 7})
    assert old.register_entry.receipt_number in page.text
    assert new.register_entry.receipt_number not in page.text
    response = client.get(reverse("repairs:register"), {"format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert len(rows) == 3 and rows[1][0] == old.register_entry.receipt_number and rows[1][6] == "10"


def test_the_register_page_runs_a_fixed_number_of_queries(
    client, dispatcher, technician, django_assert_max_num_queries
):
    client.force_login(dispatcher)
    url = reverse("repairs:register")
    carried_in(dispatcher=dispatcher, technician=technician)
    client.get(url)
    with django_assert_max_num_queries(10) as few:
        client.get(url)
    for _ in range(5):
        card = carried_in(dispatcher=dispatcher, technician=technician)
        _booked_in(card, dispatcher)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(url)
    assert response.text.count("PR-") >= 6


def test_register_pdf_extract_is_named_by_its_number(client, unit, dispatcher, technician):
    carried_in(dispatcher=dispatcher, technician=technician)
    client.force_login(dispatcher)
    response = client.get(reverse("repairs:register_pdf"))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert f'filename="REG-{unit.code}-' in response["Content-Disposition"]


def test_a_carried_in_call_cannot_be_closed_while_the_product_is_in_the_register(dispatcher, technician):
    card = carried_in(dispatcher=dispatcher, technician=technician)
    with pytest.raises(ApplicationError, match="still in our hands"):
        services.repair_call_close(user=dispatcher, call_id=card.call_id)
    assert RepairCall.objects.get(pk=card.call_id).status == RepairCall.Status.CARRIED_IN
