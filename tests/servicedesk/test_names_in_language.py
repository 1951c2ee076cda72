"""Lists that read plain values show reference data (zones, units...) in the reader's language (issue 16): the
English name on an English page, the Chinese name on a Chinese one, the Chinese name where no English one is
filled in. One helper (servicedesk.models.name_in_language) serves the board, the call history, the dashboard,
the reports and the exports."""

import csv
import io

import pytest
from django.urls import reverse
from django.utils import translation

from repairs.models import RepairCall, Zone
from servicedesk.models import OrgUnit, columns_in_language, values_in_language
from servicedesk.roles import Role
from tests.factories import UserFactory, ZoneFactory, log_call

ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}


@pytest.fixture
def named(unit, dispatcher):
    """A call in a zone and a unit each named in both languages."""
    OrgUnit.objects.filter(pk=unit.pk).update(name="上海服务中心", name_en="Shanghai Service Centre")
    zone = ZoneFactory(code="urban")
    Zone.objects.filter(pk=zone.pk).update(name="市区", name_en="Urban")
    return log_call(dispatcher=dispatcher, zone=zone)


@pytest.fixture
def head_office_dispatcher(head_office):
    return UserFactory(username="hq-desk", unit=head_office, roles=[Role.DISPATCHER, Role.SUPERVISOR])


def test_the_helper_reads_the_name_in_the_active_language_and_falls_back_on_the_chinese_name(named):
    calls = RepairCall.objects.filter(pk=named.pk)
    with translation.override("en"):
        assert list(calls.values_list(*columns_in_language(RepairCall, ("zone__name", "unit__name")))) == [
            ("Urban", "Shanghai Service Centre")
        ]
        assert values_in_language(calls, "id", "zone__name").get() == {"id": named.pk, "zone__name": "Urban"}
    with translation.override("zh-hans"):
        assert values_in_language(calls, "zone__name", "unit__name").get() == {
            "zone__name": "市区",
            "unit__name": "上海服务中心",
        }
    Zone.objects.filter(pk=named.zone_id).update(name_en="")
    with translation.override("en"):
        assert values_in_language(calls, "zone__name").get() == {"zone__name": "市区"}


def test_a_path_that_is_not_reference_data_is_read_as_it_is(named):
    # A customer's name is data, not reference data: never swapped.
    columns = columns_in_language(RepairCall, ("customer__name", "zone__name", "number"))
    assert columns[0] == "customer__name" and columns[2] == "number" and not isinstance(columns[1], str)


def test_the_board_shows_the_zone_and_unit_in_the_readers_language(client, named, head_office_dispatcher):
    client.force_login(head_office_dispatcher)
    english = client.get(reverse("repairs:board")).text
    assert named.number in english
    assert "Urban" in english and "Shanghai Service Centre" in english
    assert "市区" not in english and "上海服务中心" not in english
    # The board's rows are cached per page: the Chinese reader does not get the English page's rows.
    chinese = client.get(reverse("repairs:board"), **ZH).text
    assert "市区" in chinese and "上海服务中心" in chinese


def test_the_call_history_shows_the_zone_in_the_readers_language(client, named, dispatcher):
    client.force_login(dispatcher)
    english = client.get(reverse("records:calls")).text
    assert named.number in english and "Urban" in english and "市区" not in english
    assert "市区" in client.get(reverse("records:calls"), **ZH).text


def test_the_board_export_names_the_zone_in_the_readers_language(client, named, dispatcher):
    client.force_login(dispatcher)

    def zone_cells(**headers):
        response = client.get(reverse("export", args=["board", "csv"]), **headers)
        rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
        assert len(rows) == 1
        return set(rows[0].values())

    assert "Urban" in zone_cells() and "市区" not in zone_cells()
    assert "市区" in zone_cells(**ZH)


def test_the_dashboard_names_units_and_zones_in_the_readers_language(client, named, unit):
    boss = UserFactory(username="boss", unit=unit, roles=[Role.SUPERVISOR])
    client.force_login(boss)
    english = client.get(reverse("dashboard:index")).text
    assert "Urban" in english and "Shanghai Service Centre" in english and "市区" not in english
    chinese = client.get(reverse("dashboard:index"), **ZH).text
    assert "市区" in chinese and "上海服务中心" in chinese
