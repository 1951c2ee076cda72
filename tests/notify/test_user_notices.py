"""Issue 15: who of the staff hears of what, on which channel, from rules that are data; once each."""

from django.utils import timezone

from complaints import services as complaint_services
from notify.inbox import inapp_notices
from notify.models import NoticeRule, UserNoticeSetting
from repairs import services
from servicedesk import sms
from servicedesk.models import Notification
from servicedesk.notifications import notifications_deliver_pending
from servicedesk.roles import Role
from tests.factories import CustomerFactory, UserFactory, log_call


def _channels(prefix: str, user) -> list[str]:
    return sorted(
        Notification.objects.filter(dedupe_key__startswith=prefix, recipient=user).values_list("channel", flat=True)
    )


def _opinion(unit, *, kind="complaint", severity="general"):
    return complaint_services.customer_opinion_record(
        unit=unit,
        customer=CustomerFactory(unit=unit),
        kind=kind,
        source="phone",
        severity=severity,
        text="The technician came two days late.",
        received_at=timezone.now(),
        by=None,
    )


def test_a_new_assignment_reaches_the_technician_by_email_sms_and_in_the_app(dispatcher, technician):
    technician.phone = "13800001111"
    technician.save()
    call = log_call(dispatcher=dispatcher)
    services.repair_call_dispatch(user=dispatcher, call_id=call.pk, technician=technician)
    assert _channels("repair-call-dispatched:", technician) == ["email", "sms"]
    notifications_deliver_pending()
    assert [m.to for m in sms.outbox] == ["13800001111"]
    assert call.number in sms.outbox[0].text


def test_a_technician_without_email_still_hears_in_the_app(dispatcher, technician):
    technician.email = ""
    technician.save()
    call = log_call(dispatcher=dispatcher)
    services.repair_call_dispatch(user=dispatcher, call_id=call.pk, technician=technician)
    assert _channels("repair-call-dispatched:", technician) == ["inapp"]


def test_a_users_own_setting_overrides_the_roles_rule(dispatcher, technician):
    technician.phone = "13800001111"
    technician.save()
    UserNoticeSetting.objects.create(user=technician, topic="repair-call-dispatched", by_email=False, by_sms=False)
    call = log_call(dispatcher=dispatcher)
    services.repair_call_dispatch(user=dispatcher, call_id=call.pk, technician=technician)
    assert _channels("repair-call-dispatched:", technician) == ["inapp"]


def test_the_rule_of_a_role_is_data(dispatcher, technician):
    NoticeRule.objects.filter(role=Role.TECHNICIAN, topic="repair-call-dispatched").update(by_sms=False)
    technician.phone = "13800001111"
    technician.save()
    call = log_call(dispatcher=dispatcher)
    services.repair_call_dispatch(user=dispatcher, call_id=call.pk, technician=technician)
    assert _channels("repair-call-dispatched:", technician) == ["email"]


def test_a_serious_complaint_alerts_the_deputy_gm_at_once(unit, deputy_gm, supervisor):
    opinion = _opinion(unit, severity="serious")
    assert _channels(f"complaint-serious:{opinion.pk}:", deputy_gm) == ["email", "sms"]
    sms_row = Notification.objects.get(dedupe_key__startswith="complaint-serious:", channel="sms")
    assert sms_row.to_phone == "13900000001"
    # The supervisor of the unit is told to follow it up; a general complaint does not reach the deputy GM.
    assert _channels(f"complaint-follow-up:{opinion.pk}:", supervisor) == ["email"]
    general = _opinion(unit)
    assert not Notification.objects.filter(dedupe_key__startswith=f"complaint-serious:{general.pk}:").exists()
    assert _channels(f"complaint-follow-up:{general.pk}:", supervisor) == ["email"]


def test_a_complaint_reaches_only_its_own_units_supervisors(unit, supervisor, other_supervisor):
    opinion = _opinion(unit)
    assert (
        Notification.objects.filter(dedupe_key__startswith=f"complaint-follow-up:{opinion.pk}:")
        .exclude(recipient=supervisor)
        .count()
        == 0
    )
    assert _channels("complaint-follow-up:", other_supervisor) == []


def test_a_suggestion_asks_for_no_follow_up(unit, supervisor):
    _opinion(unit, kind="suggestion")
    assert not Notification.objects.filter(dedupe_key__startswith="complaint-follow-up:").exists()


def test_an_escalation_reaches_the_supervisor_in_the_app_once(dispatcher, technician, supervisor):
    import datetime as dt

    from tests.repairs.field import carried_in

    card = carried_in(dispatcher=dispatcher, technician=technician, promised_in=dt.timedelta(hours=1))
    later = timezone.now() + dt.timedelta(hours=2)
    assert services.repair_cards_escalate_late(now=later) == 1
    assert services.repair_cards_escalate_late(now=later) == 0
    assert _channels(f"repair-card-late:{card.pk}:", supervisor) == ["email"]
    notifications_deliver_pending()
    # The e-mail is also the supervisor's notice under the bell, rendered by the sweep.
    shown = inapp_notices(user=supervisor).get(dedupe_key__startswith=f"repair-card-late:{card.pk}:")
    assert shown.sent_at is not None and card.number in shown.subject


def test_exactly_once_when_the_same_notices_are_written_twice(dispatcher, technician):
    from servicedesk.notifications import notifications_queue

    note = Notification(
        dedupe_key="repair-call-dispatched:1:1:" + str(technician.pk),
        recipient=technician,
        to_email=technician.email,
        subject="s",
        body="b",
    )
    again = Notification(
        dedupe_key=note.dedupe_key, recipient=technician, to_email=technician.email, subject="s", body="b"
    )
    notifications_queue(notices=[note])
    notifications_queue(notices=[again])
    assert _channels("repair-call-dispatched:1:1:", technician) == ["email"]


def test_a_head_office_supervisor_role_holder_without_unit_gets_nothing_odd(unit):
    UserFactory(username="nounit-sup", unit=None, roles=[Role.SUPERVISOR])
    opinion = _opinion(unit)
    assert not Notification.objects.filter(dedupe_key__startswith=f"complaint-follow-up:{opinion.pk}:").exists()
