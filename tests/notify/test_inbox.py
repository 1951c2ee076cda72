"""Issue 16: each role lands on its own work; counts as menu badges in a fixed number of queries; the bell."""

import datetime as dt

import pytest
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from notify.inbox import badges, inbox_counts, navbar_html
from notify.models import PostalItem
from repairs import services
from repairs.models import RepairCard
from servicedesk.models import Notification
from servicedesk.roles import Role
from tests.factories import CustomerFactory, UserFactory
from tests.repairs.field import carried_in


def _late_cards(n, *, dispatcher, technician):
    cards = [carried_in(dispatcher=dispatcher, technician=technician) for _ in range(n)]
    RepairCard.objects.filter(pk__in=[c.pk for c in cards]).update(promised_at=timezone.now() - dt.timedelta(hours=1))
    services.repair_cards_escalate_late(now=timezone.now())
    return cards


def _counts(user) -> dict:
    return {section.key: count for section, count in inbox_counts(user=user)}


def _navbar_queries(rf, user) -> int:
    request = rf.get("/")
    request.user = type(user).objects.get(pk=user.pk)  # a fresh user each time, as in each request
    with CaptureQueriesContext(connection) as queries:
        assert "nav-inbox-slot" in navbar_html(request)
    assert len(queries) == 0  # a page pays nothing for its badges: they load after it
    with CaptureQueriesContext(connection) as queries:
        render_to_string("notify/_navbar.html", badges(user=request.user))
    return len(queries)


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.ACCOUNTING, Role.GM_OFFICE, Role.DEPUTY_GM])
def test_a_role_with_an_inbox_lands_on_it_after_login(client, unit, role):
    user = UserFactory(username=f"u-{role}", unit=unit, roles=[role])
    client.force_login(user)
    assert client.get(reverse("home")).url == reverse("notify:inbox")


def test_technician_and_dispatcher_keep_their_pages(client, technician, dispatcher):
    client.force_login(technician)
    assert client.get(reverse("home")).url == reverse("repairs:my_calls")
    client.force_login(dispatcher)
    assert client.get(reverse("home")).url == reverse("repairs:board")


def test_the_supervisors_badges_count_late_cards_and_escalations_in_fixed_queries(
    rf, dispatcher, technician, supervisor
):
    _late_cards(1, dispatcher=dispatcher, technician=technician)
    first = _navbar_queries(rf, supervisor)  # the user's first request reads its roles (then kept)
    few = _navbar_queries(rf, supervisor)
    assert _counts(supervisor) == {"escalations": 1, "late_cards": 1, "follow_ups": 0}
    _late_cards(4, dispatcher=dispatcher, technician=technician)
    assert _counts(supervisor) == {"escalations": 5, "late_cards": 5, "follow_ups": 0}
    assert _navbar_queries(rf, supervisor) == few
    # The user's unit (its roles are kept with its permissions, servicedesk.backends), one query per section
    # and one for the bell.
    assert few == 1 + 3 + 1 and first == few + 1


def test_another_units_work_is_never_counted(dispatcher, technician, other_supervisor, supervisor):
    _late_cards(2, dispatcher=dispatcher, technician=technician)
    assert _counts(other_supervisor) == {"escalations": 0, "late_cards": 0, "follow_ups": 0}
    assert _counts(supervisor)["late_cards"] == 2


def test_the_inbox_page_lists_the_work_in_fixed_queries(
    client, dispatcher, technician, supervisor, django_assert_max_num_queries
):
    cards = _late_cards(2, dispatcher=dispatcher, technician=technician)
    client.force_login(supervisor)
    page = client.get(reverse("notify:inbox"))
    assert page.status_code == 200
    for card in cards:
        assert card.number in page.content.decode()
    _late_cards(6, dispatcher=dispatcher, technician=technician)
    with CaptureQueriesContext(connection) as before:
        client.get(reverse("notify:inbox"))
    _late_cards(3, dispatcher=dispatcher, technician=technician)
    with CaptureQueriesContext(connection) as after:
        client.get(reverse("notify:inbox"))
    assert len(after) == len(before)


def test_a_technicians_badge_counts_open_calls(rf, dispatcher, technician):
    from tests.factories import log_call

    for _ in range(2):
        call = log_call(dispatcher=dispatcher)
        services.repair_call_dispatch(user=dispatcher, call_id=call.pk, technician=technician)
    assert _counts(technician) == {"calls": 2}


def test_todays_calls_show_open_calls_first(dispatcher, technician):
    from repairs.selectors import technician_calls_today
    from tests.factories import log_call

    finished = log_call(dispatcher=dispatcher, received_at=timezone.now() - dt.timedelta(hours=1))
    services.repair_call_dispatch(user=dispatcher, call_id=finished.pk, technician=technician)
    services.repair_call_cancel(user=dispatcher, call_id=finished.pk, reason="Customer fixed it")
    still_open = log_call(dispatcher=dispatcher)
    services.repair_call_dispatch(user=dispatcher, call_id=still_open.pk, technician=technician)
    # The finished call's deadline is earlier, yet the open one comes first.
    assert [c.pk for c in technician_calls_today(user=technician)] == [still_open.pk, finished.pk]


# --- the bell --------------------------------------------------------------------------------------------


def _inapp(user, n=1, **extra):
    rows = [
        Notification(
            dedupe_key=f"test:{user.pk}:{i}:{extra.get('tag', '')}",
            channel="inapp",
            recipient=user,
            subject=f"Notice {i} for {user.username}",
            body="Body",
        )
        for i in range(n)
    ]
    return Notification.objects.bulk_create(rows)


def test_the_bell_shows_the_unread_count_and_the_page_marks_read(client, supervisor):
    rows = _inapp(supervisor, 3)
    client.force_login(supervisor)
    page = client.get(reverse("notify:badges")).content.decode()
    assert "data-unread>3<" in page
    assert 'hx-get="/me/badges/"' in client.get(reverse("notify:inbox")).content.decode()
    listing = client.get(reverse("notify:notifications")).content.decode()
    assert "Notice 0 for supervisor" in listing
    client.post(reverse("notify:notifications"), {"notification": rows[0].pk})
    rows[0].refresh_from_db()
    assert rows[0].read_at is not None
    assert "data-unread>2<" in client.get(reverse("notify:badges")).content.decode()
    client.post(reverse("notify:notifications"))
    assert Notification.objects.filter(recipient=supervisor, read_at__isnull=True).count() == 0
    assert "data-unread" not in client.get(reverse("notify:badges")).content.decode()


def test_nobody_reads_or_marks_another_users_notices(client, supervisor, other_supervisor):
    theirs = _inapp(other_supervisor, 1)[0]
    client.force_login(supervisor)
    assert "Notice 0 for sz-supervisor" not in client.get(reverse("notify:notifications")).content.decode()
    assert client.post(reverse("notify:notifications"), {"notification": theirs.pk}).status_code == 404
    client.post(reverse("notify:notifications"))  # "mark all" is the user's own
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_a_notice_by_email_to_a_user_also_appears_under_the_bell(client, dispatcher, technician):
    from tests.factories import log_call

    call = log_call(dispatcher=dispatcher)
    services.repair_call_dispatch(user=dispatcher, call_id=call.pk, technician=technician)
    client.force_login(technician)
    listing = client.get(reverse("notify:notifications")).content.decode()
    assert call.number in listing


# --- the postal list -------------------------------------------------------------------------------------


def _letter(unit, name):
    customer = CustomerFactory(unit=unit, name=name, address="上海市中山路1号")
    return PostalItem.objects.create(
        dedupe_key=f"product-ready:{customer.pk}",
        unit=unit,
        customer=customer,
        topic="product-ready",
        subject=f"Your product is repaired ({name})",
        body="Please collect it.",
    )


def test_the_postal_list_is_scoped_to_the_unit_and_prints(client, dispatcher, unit, other_unit):
    mine = _letter(unit, "本单位客户")
    theirs = _letter(other_unit, "外单位客户")
    client.force_login(dispatcher)
    page = client.get(reverse("notify:postal_list")).content.decode()
    assert "本单位客户" in page and "外单位客户" not in page
    pdf = client.get(reverse("notify:postal_pdf"))
    assert pdf["Content-Type"] == "application/pdf"
    # Marking another unit's letter posted changes nothing; one's own is posted once.
    client.post(reverse("notify:postal_posted"), {"letters": [theirs.pk]})
    theirs.refresh_from_db()
    assert theirs.posted_at is None
    client.post(reverse("notify:postal_posted"), {"letters": [mine.pk]})
    mine.refresh_from_db()
    assert mine.posted_at is not None and mine.posted_by == dispatcher
    assert "本单位客户" not in client.get(reverse("notify:postal_list")).content.decode()


def test_the_postal_list_is_for_the_desk_only(client, technician):
    client.force_login(technician)
    assert client.get(reverse("notify:postal_list")).status_code == 403
