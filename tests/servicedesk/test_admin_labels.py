"""The admin site shows roles, stages and states by their labels, in the reader's language (issue 16)."""

import re

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import translation

from complaints.models import ComplaintCase, StageDeadline
from repairs import services
from repairs.models import RepairCall
from servicedesk.models import StatusChange
from servicedesk.roles import Role
from tests.factories import log_call

ZH = {"accept-language": "zh-hans"}


def chinese(label) -> str:
    with translation.override("zh-hans"):
        return str(label)


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def test_the_roles_are_listed_by_their_labels_not_their_codes(admin_client):
    assert Group.objects.filter(name=Role.DISPATCHER).exists()
    page = admin_client.get(reverse("admin:auth_group_changelist"), headers=ZH).text
    assert chinese(Role.DISPATCHER.label) in page and chinese(Role.DEPUTY_GM.label) in page
    assert ">dispatcher<" not in page and ">deputy_gm<" not in page


def test_a_users_roles_are_offered_by_their_labels(admin_client, dispatcher):
    page = admin_client.get(reverse("admin:servicedesk_user_change", args=[dispatcher.pk]), headers=ZH).text
    options = set(re.findall(r'<option value="\d+"[^>]*>([^<]+)</option>', page))
    assert {chinese(role.label) for role in Role} <= options
    assert not {role.value for role in Role} & options


def test_stage_deadlines_show_their_stages_by_name_in_the_order_a_case_goes(admin_client):
    page = admin_client.get(reverse("admin:complaints_stagedeadline_changelist"), headers=ZH).text
    stages = [code for code in ComplaintCase.Status.values if StageDeadline.objects.filter(stage=code).exists()]
    assert len(stages) > 3
    positions = [page.index(f">{chinese(ComplaintCase.Status(code).label)}<") for code in stages]
    assert positions == sorted(positions)
    assert ">investigation<" not in page


def test_the_status_history_shows_state_labels(admin_client, dispatcher):
    call = log_call(dispatcher=dispatcher)
    services.repair_call_cancel(user=dispatcher, call_id=call.pk, reason="客户取消")
    assert StatusChange.objects.filter(to_status=RepairCall.Status.CANCELLED).exists()
    page = admin_client.get(reverse("admin:servicedesk_statuschange_changelist"), headers=ZH).text
    assert chinese(RepairCall.Status.CANCELLED.label) in page
    assert f">{RepairCall.Status.CANCELLED.value}<" not in page and f">{RepairCall.Status.LOGGED.value}<" not in page
