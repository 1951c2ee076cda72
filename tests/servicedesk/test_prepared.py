"""servicedesk.prepared: a read compiled once, prepared once per connection, giving what the ORM gives."""

import pytest
from django.db import connection
from django.db.models import BooleanField, ExpressionWrapper, Q
from django.http import Http404
from django.test.utils import CaptureQueriesContext

from repairs import selectors_field
from repairs.models import RepairCall
from servicedesk.prepared import PreparedRead, _postgresql_text
from servicedesk.scoping import in_unit
from tests.factories import UserFactory, log_call

pytestmark = pytest.mark.django_db

_LATE = ExpressionWrapper(Q(logged_late=True), output_field=BooleanField())


def _calls(*, pk, unit_id):
    calls = in_unit(RepairCall.objects.filter(pk=pk), unit_id)
    return calls.select_related("unit", "customer", "site__zone", "technician").defer("problem").annotate(late=_LATE)


READ = PreparedRead("test_calls", _calls)


def _facts(call):
    return (
        [(f.attname, getattr(call, f.attname)) for f in RepairCall._meta.concrete_fields if f.attname != "problem"],
        call.unit.name,
        call.customer.name,
        call.site.address,
        call.site.zone.name,
        call.technician,
        call.late,
        call.get_deferred_fields(),
    )


def test_a_prepared_read_gives_the_instances_the_orm_gives(dispatcher, unit):
    call = log_call(dispatcher=dispatcher)
    for unit_id in (None, unit.pk):
        [read] = READ.fetch(pk=call.pk, unit_id=unit_id)
        [orm] = list(_calls(pk=call.pk, unit_id=unit_id))
        assert _facts(read) == _facts(orm)
        assert read.get_deferred_fields() == {"problem"}
        assert read.problem == call.problem  # a deferred field still loads on use
        assert not read._state.adding and read._state.db == "default"


def test_each_shape_filters_by_its_own_values(dispatcher, unit, other_unit):
    call = log_call(dispatcher=dispatcher)
    assert READ.fetch(pk=2**63, unit_id=None) == READ.fetch(pk=-(2**70), unit_id=None) == []
    assert READ.fetch(pk=call.pk, unit_id=other_unit.pk) == []
    assert READ.fetch(pk=call.pk + 1000, unit_id=None) == []
    assert [c.pk for c in READ.fetch(pk=call.pk, unit_id=unit.pk)] == [call.pk]


def test_the_statement_is_prepared_once_per_connection(dispatcher):
    call = log_call(dispatcher=dispatcher)
    read = PreparedRead("test_calls_once", _calls)
    with CaptureQueriesContext(connection) as first:
        read.fetch(pk=call.pk, unit_id=None)
    with CaptureQueriesContext(connection) as second:
        read.fetch(pk=call.pk, unit_id=None)
    if connection.vendor == "postgresql":
        assert [q["sql"].split()[0] for q in first.captured_queries] == ["PREPARE", "EXECUTE"]
        assert [q["sql"].split()[0] for q in second.captured_queries] == ["EXECUTE"]
    else:
        assert len(first.captured_queries) == len(second.captured_queries) == 1


def test_with_prepared_statements_off_the_compiled_sql_is_sent_as_it_is(dispatcher, settings):
    settings.DATABASE_PREPARED_STATEMENTS = False
    call = log_call(dispatcher=dispatcher)
    read = PreparedRead("test_calls_off", _calls)
    with CaptureQueriesContext(connection) as sent:
        assert [c.pk for c in read.fetch(pk=call.pk, unit_id=None)] == [call.pk]
    assert [q["sql"].split()[0] for q in sent.captured_queries] == ["SELECT"]


@pytest.mark.django_db(transaction=True)
def test_a_new_connection_prepares_again(dispatcher):
    call = log_call(dispatcher=dispatcher)
    read = PreparedRead("test_calls_reconnect", _calls)
    assert read.fetch(pk=call.pk, unit_id=None)
    connection.close()
    with CaptureQueriesContext(connection) as again:
        assert [c.pk for c in read.fetch(pk=call.pk, unit_id=None)] == [call.pk]
    if connection.vendor == "postgresql":
        assert [q["sql"].split()[0] for q in again.captured_queries] == ["PREPARE", "EXECUTE"]


def test_what_a_prepared_read_refuses(dispatcher):
    call = log_call(dispatcher=dispatcher)
    with pytest.raises(TypeError):
        READ.fetch(pk=str(call.pk), unit_id=None)
    with pytest.raises(TypeError):
        READ.fetch(pk=True, unit_id=None)
    with pytest.raises(ValueError):
        PreparedRead(
            "test_prefetch", lambda *, pk: RepairCall.objects.filter(pk=pk).prefetch_related("vouchers")
        ).fetch(pk=call.pk)
    with pytest.raises(ValueError):
        PreparedRead("test_unused", lambda *, pk: RepairCall.objects.all()).fetch(pk=call.pk)
    with pytest.raises(ValueError):
        PreparedRead("Bad name; DROP", _calls)


def test_placeholders_become_numbered_parameters_and_doubled_percents_single():
    assert _postgresql_text("a = %s AND b LIKE '50%%' AND c = %s") == "a = $1 AND b LIKE '50%' AND c = $2"


def test_the_call_page_read_is_scoped_to_the_users_unit(dispatcher, other_unit, head_office_user):
    call = log_call(dispatcher=dispatcher)
    stranger = UserFactory(username="stranger", unit=other_unit)
    no_unit = UserFactory(username="nounit", unit=None)
    assert selectors_field.call_detail_get_for_user(user=dispatcher, pk=call.pk).pk == call.pk
    assert selectors_field.call_detail_get_for_user(user=head_office_user, pk=call.pk).pk == call.pk
    dispatcher.is_active = False
    for user in (stranger, no_unit, dispatcher):
        with pytest.raises(Http404):
            selectors_field.call_detail_get_for_user(user=user, pk=call.pk)
