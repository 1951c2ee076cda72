import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection

from contracts.models import ContractTerm, ExpiryNotice, RenewalFollowUp
from contracts.services import (
    contract_daily_run,
    contract_notices_issue,
    contract_term_renew,
    expiry_notices_deliver_pending,
    renewal_follow_up_record,
)
from contracts.services.notices import terms_due_for_notice
from servicedesk.exceptions import ApplicationError
from servicedesk.models import Notification
from tests.conftest import is_postgres

D = dt.date
END = D(2031, 3, 31)  # noticed from 28 February 2031


def notices_for(contract):
    return ExpiryNotice.objects.filter(term__contract=contract)


def test_a_term_is_noticed_on_the_first_day_of_its_window(dispatcher, make_contract):
    contract = make_contract(user=dispatcher, start_on=D(2030, 4, 1), end_on=END)
    assert contract_notices_issue(today=D(2031, 2, 27)) == 0
    assert contract_notices_issue(today=D(2031, 2, 28)) == 1
    notice = notices_for(contract).get()
    assert notice.issued_on == D(2031, 2, 28)
    assert notice.number.startswith("EN-")


def test_running_twice_on_the_same_day_gives_one_notice(dispatcher, make_contract):
    contract = make_contract(user=dispatcher, start_on=D(2030, 4, 1), end_on=END)
    contract_notices_issue(today=D(2031, 2, 28))
    assert contract_notices_issue(today=D(2031, 2, 28)) == 0
    contract_daily_run(today=D(2031, 2, 28))
    assert notices_for(contract).count() == 1
    assert RenewalFollowUp.objects.filter(term__contract=contract).count() == 1


def test_a_late_run_catches_up_and_the_next_days_do_nothing_more(dispatcher, make_contract):
    contract = make_contract(user=dispatcher, start_on=D(2030, 4, 1), end_on=END)
    assert contract_notices_issue(today=D(2031, 3, 9)) == 1
    for day in range(10, 20):
        assert contract_notices_issue(today=D(2031, 3, day)) == 0
    assert notices_for(contract).get().issued_on == D(2031, 3, 9)


def test_after_a_week_of_downtime_every_term_whose_window_began_is_noticed_once(dispatcher, make_contract):
    # Windows opening on each day of the week the job did not run, and one opening after it.
    ends = [D(2031, 3, 31), D(2031, 4, 1), D(2031, 4, 3), D(2031, 4, 5), D(2031, 4, 7), D(2031, 4, 20)]
    contracts = [make_contract(user=dispatcher, start_on=D(2030, 5, 1), end_on=end) for end in ends]
    assert contract_notices_issue(today=D(2031, 2, 27)) == 0
    # down from 28 February to 7 March
    assert contract_notices_issue(today=D(2031, 3, 8)) == 5
    assert contract_notices_issue(today=D(2031, 3, 9)) == 0
    assert [notices_for(c).count() for c in contracts] == [1, 1, 1, 1, 1, 0]
    assert contract_notices_issue(today=D(2031, 3, 20)) == 1
    assert [notices_for(c).count() for c in contracts] == [1, 1, 1, 1, 1, 1]


def test_a_term_entered_already_inside_its_window_is_noticed_at_the_next_run(dispatcher, make_contract):
    contract_notices_issue(today=D(2031, 3, 1))
    contract = make_contract(user=dispatcher, start_on=D(2030, 3, 11), end_on=D(2031, 3, 10))
    assert notices_for(contract).count() == 0
    assert contract_notices_issue(today=D(2031, 3, 2)) == 1
    assert notices_for(contract).count() == 1


def test_a_term_that_ended_before_any_run_is_not_noticed_but_lapses(dispatcher, make_contract):
    contract = make_contract(user=dispatcher, start_on=D(2030, 4, 1), end_on=END)
    assert contract_daily_run(today=D(2031, 4, 1)) == {"notices": 0, "expired": 1}
    term = contract.terms.get()
    assert term.status == ContractTerm.Status.EXPIRED
    assert not notices_for(contract).exists()
    assert contract_daily_run(today=D(2031, 4, 2)) == {"notices": 0, "expired": 0}


def test_a_term_ending_today_is_still_noticed(dispatcher, make_contract):
    contract = make_contract(user=dispatcher, start_on=D(2030, 4, 1), end_on=END)
    assert contract_daily_run(today=END) == {"notices": 1, "expired": 0}
    assert contract_daily_run(today=END + dt.timedelta(days=1)) == {"notices": 0, "expired": 1}
    assert notices_for(contract).count() == 1


def test_no_notice_for_a_term_renewed_before_its_window(dispatcher, make_contract):
    contract = make_contract(user=dispatcher, start_on=D(2030, 4, 1), end_on=END)
    first = contract.terms.get()
    second = contract_term_renew(
        user=dispatcher, term_id=first.pk, end_on=D(2032, 3, 31), fee=Decimal("1300.00"), visit_frequency="monthly"
    )
    assert contract_notices_issue(today=D(2031, 3, 15)) == 0
    first.refresh_from_db()
    assert first.status == ContractTerm.Status.RENEWED
    assert not ExpiryNotice.objects.filter(term=first).exists()
    # The new term gets its own notice when its own window begins: 29 February 2032 (a leap year).
    assert contract_notices_issue(today=D(2032, 2, 28)) == 0
    assert contract_notices_issue(today=D(2032, 2, 29)) == 1
    assert ExpiryNotice.objects.get().term == second


def test_renewal_creates_the_next_term_linked_to_the_previous(dispatcher, make_contract):
    contract = make_contract(user=dispatcher, start_on=D(2030, 4, 1), end_on=END)
    contract_notices_issue(today=D(2031, 3, 1))
    first = contract.terms.get()
    second = contract_term_renew(
        user=dispatcher, term_id=first.pk, end_on=D(2032, 3, 31), fee=Decimal("1500.00"), visit_frequency="monthly"
    )
    assert second.previous == first
    assert second.sequence == 2
    assert second.start_on == D(2031, 4, 1)
    assert second.notice_on == D(2032, 2, 29)
    assert second.status == ContractTerm.Status.ACTIVE
    follow_up = RenewalFollowUp.objects.get(term=first)
    assert follow_up.status == RenewalFollowUp.Status.RENEWED
    assert follow_up.closed_by == dispatcher
    # Renewed once only.
    with pytest.raises(ApplicationError):
        contract_term_renew(
            user=dispatcher, term_id=first.pk, end_on=D(2032, 3, 31), fee=Decimal("1"), visit_frequency="monthly"
        )
    assert contract.terms.count() == 2
    assert contract_notices_issue(today=D(2031, 3, 20)) == 0


def test_a_new_term_cannot_overlap_the_previous_one(dispatcher, make_contract):
    contract = make_contract(user=dispatcher, start_on=D(2030, 4, 1), end_on=END)
    with pytest.raises(ApplicationError) as refused:
        contract_term_renew(
            user=dispatcher,
            term_id=contract.terms.get().pk,
            start_on=D(2031, 3, 1),
            end_on=D(2032, 3, 31),
            fee=Decimal("1"),
            visit_frequency="monthly",
        )
    assert refused.value.field == "start_on"


def test_a_lapsed_term_can_be_renewed_late(dispatcher, make_contract):
    contract = make_contract(user=dispatcher, start_on=D(2030, 4, 1), end_on=END)
    contract_daily_run(today=D(2031, 4, 10))
    first = contract.terms.get()
    assert first.status == ContractTerm.Status.EXPIRED
    second = contract_term_renew(
        user=dispatcher,
        term_id=first.pk,
        start_on=D(2031, 4, 15),
        end_on=D(2032, 4, 14),
        fee=Decimal("1"),
        visit_frequency="monthly",
    )
    first.refresh_from_db()
    assert first.status == ContractTerm.Status.RENEWED
    assert second.start_on == D(2031, 4, 15)


def test_another_units_dispatcher_cannot_renew(dispatcher, other_dispatcher, make_contract):
    contract = make_contract(user=dispatcher, start_on=D(2030, 4, 1), end_on=END)
    with pytest.raises(ApplicationError):
        contract_term_renew(
            user=other_dispatcher,
            term_id=contract.terms.get().pk,
            end_on=D(2032, 3, 31),
            fee=Decimal("1"),
            visit_frequency="monthly",
        )


def test_a_notice_opens_a_follow_up_for_the_person_handling_the_contract(dispatcher, make_contract, contract_type):
    contract = make_contract(user=dispatcher, start_on=D(2030, 4, 1), end_on=END, handled_by=dispatcher)
    contract_notices_issue(today=D(2031, 3, 1))
    follow_up = RenewalFollowUp.objects.get()
    assert follow_up.term.contract == contract
    assert follow_up.assigned_to == dispatcher
    assert follow_up.due_on == D(2031, 3, 1) + dt.timedelta(days=contract_type.follow_up_days)
    assert follow_up.status == RenewalFollowUp.Status.OPEN
    assert follow_up.unit == dispatcher.unit
    staff_notice = Notification.objects.get(recipient=dispatcher)
    assert contract.number in staff_notice.subject


def test_the_follow_up_is_due_no_later_than_the_last_day(dispatcher, make_contract):
    make_contract(user=dispatcher, start_on=D(2030, 4, 1), end_on=END)
    contract_notices_issue(today=D(2031, 3, 28))
    assert RenewalFollowUp.objects.get().due_on == END


def test_declining_needs_a_reason_and_closes_the_follow_up(dispatcher, make_contract):
    make_contract(user=dispatcher, start_on=D(2030, 4, 1), end_on=END)
    contract_notices_issue(today=D(2031, 3, 1))
    follow_up = RenewalFollowUp.objects.get()
    with pytest.raises(ApplicationError):
        renewal_follow_up_record(user=dispatcher, follow_up_id=follow_up.pk, outcome="declined", note=" ")
    with pytest.raises(ApplicationError):
        renewal_follow_up_record(user=dispatcher, follow_up_id=follow_up.pk, outcome="renewed", note="x")
    renewal_follow_up_record(user=dispatcher, follow_up_id=follow_up.pk, outcome="declined", note="预算不足")
    follow_up.refresh_from_db()
    assert follow_up.status == RenewalFollowUp.Status.DECLINED
    assert follow_up.note == "预算不足"


def test_a_customer_who_did_not_answer_may_still_renew(dispatcher, make_contract):
    contract = make_contract(user=dispatcher, start_on=D(2030, 4, 1), end_on=END)
    contract_notices_issue(today=D(2031, 3, 1))
    follow_up = RenewalFollowUp.objects.get()
    renewal_follow_up_record(user=dispatcher, follow_up_id=follow_up.pk, outcome="no_answer")
    contract_term_renew(
        user=dispatcher,
        term_id=contract.terms.get().pk,
        end_on=D(2032, 3, 31),
        fee=Decimal("1"),
        visit_frequency="monthly",
    )
    follow_up.refresh_from_db()
    assert follow_up.status == RenewalFollowUp.Status.RENEWED


def test_the_notice_is_emailed_to_the_customer_with_the_pdf_once(dispatcher, make_contract):
    contract = make_contract(user=dispatcher, start_on=D(2030, 4, 1), end_on=END, email="buyer@example.com")
    contract_notices_issue(today=D(2031, 3, 1))
    assert expiry_notices_deliver_pending() == 1
    assert expiry_notices_deliver_pending() == 0
    [message] = [m for m in mail.outbox if m.to == ["buyer@example.com"]]
    assert contract.number in message.subject
    [(filename, content, mimetype)] = message.attachments
    assert mimetype == "application/pdf"
    assert filename.startswith("EN-")
    assert content.startswith(b"%PDF")
    assert ExpiryNotice.objects.get().emailed_at is not None


def test_no_email_for_a_customer_without_an_address(dispatcher, make_contract):
    make_contract(user=dispatcher, start_on=D(2030, 4, 1), end_on=END, email="")
    contract_notices_issue(today=D(2031, 3, 1))
    assert expiry_notices_deliver_pending() == 0
    assert mail.outbox == []
    assert ExpiryNotice.objects.count() == 1


def test_a_refused_email_stays_pending_and_is_retried(dispatcher, make_contract, monkeypatch):
    make_contract(user=dispatcher, start_on=D(2030, 4, 1), end_on=END)
    contract_notices_issue(today=D(2031, 3, 1))

    def refuse(self, *args, **kwargs):
        raise OSError("mail server down")

    monkeypatch.setattr("django.core.mail.EmailMessage.send", refuse)
    assert expiry_notices_deliver_pending() == 0
    notice = ExpiryNotice.objects.get()
    assert notice.emailed_at is None
    assert notice.email_attempts == 1
    assert "mail server down" in notice.email_error
    monkeypatch.undo()
    assert expiry_notices_deliver_pending() == 1


def test_the_run_reads_due_terms_in_batches_not_per_term(dispatcher, make_contract, django_assert_max_num_queries):
    for _ in range(3):
        make_contract(user=dispatcher, start_on=D(2030, 4, 1), end_on=END)
    # 17: notify's subscriber reads the batch's customers and their notice preferences (one query per batch).
    with django_assert_max_num_queries(17) as few:
        assert contract_notices_issue(today=D(2031, 3, 1)) == 3
    for _ in range(30):
        make_contract(user=dispatcher, start_on=D(2030, 4, 1), end_on=D(2031, 4, 30))
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert contract_notices_issue(today=D(2031, 4, 1)) == 30


def test_changing_a_types_window_moves_the_notice_date_of_terms_not_yet_noticed(
    dispatcher, make_contract, contract_type
):
    from contracts.services import contract_type_reschedule_notices

    noticed = make_contract(user=dispatcher, start_on=D(2030, 4, 1), end_on=D(2031, 3, 5))
    contract_notices_issue(today=D(2031, 2, 5))
    waiting = make_contract(user=dispatcher, start_on=D(2030, 4, 1), end_on=END)
    contract_type.notice_months = 2
    contract_type.save()
    assert contract_type_reschedule_notices(contract_type=contract_type) == 1
    assert waiting.terms.get().notice_on == D(2031, 1, 31)
    assert noticed.terms.get().notice_on == D(2031, 2, 5)


@pytest.mark.postgres
@pytest.mark.skipif(not is_postgres(), reason="row locks need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_notice_every_term_exactly_once(dispatcher, make_contract):
    contracts = [make_contract(user=dispatcher, start_on=D(2030, 4, 1), end_on=END) for _ in range(40)]
    barrier = threading.Barrier(2)
    results, errors = [], []

    def run():
        try:
            barrier.wait(timeout=10)
            results.append(contract_notices_issue(today=D(2031, 3, 1), batch_size=7))
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sum(results) == 40
    assert ExpiryNotice.objects.count() == 40
    assert RenewalFollowUp.objects.count() == 40
    assert {n.term.contract_id for n in ExpiryNotice.objects.select_related("term")} == {c.pk for c in contracts}
    assert not terms_due_for_notice(today=D(2031, 3, 1)).exists()


@pytest.mark.postgres
@pytest.mark.skipif(not is_postgres(), reason="row locks need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_two_renewals_at_once_make_one_next_term(dispatcher, make_contract):
    contract = make_contract(user=dispatcher, start_on=D(2030, 4, 1), end_on=END)
    term_id = contract.terms.get().pk
    barrier = threading.Barrier(2)
    outcomes = []

    def renew():
        try:
            barrier.wait(timeout=10)
            contract_term_renew(
                user=dispatcher, term_id=term_id, end_on=D(2032, 3, 31), fee=Decimal("1"), visit_frequency="monthly"
            )
            outcomes.append("renewed")
        except ApplicationError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=renew) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["refused", "renewed"]
    assert contract.terms.count() == 2


def test_the_unique_term_is_the_backstop_against_a_second_notice(dispatcher, make_contract):
    from django.db import IntegrityError, transaction

    make_contract(user=dispatcher, start_on=D(2030, 4, 1), end_on=END)
    contract_notices_issue(today=D(2031, 3, 1))
    notice = ExpiryNotice.objects.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        ExpiryNotice.objects.create(number="EN-X", term=notice.term, unit=notice.unit, issued_on=D(2031, 3, 2))
