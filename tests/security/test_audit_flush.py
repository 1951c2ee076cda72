"""The append-only history and admin log do not stop a whole-database flush (transactional tests end with one).

Its own module: a transactional test must not run inside the module-scoped world of the other audit tests.
"""

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.core.management import call_command
from django.db import DatabaseError, transaction

from servicedesk.models import StatusChange
from servicedesk.workflow import record_status_change
from tests.factories import OrgUnitFactory, UserFactory, log_call


@pytest.mark.django_db(transaction=True)
def test_flush_still_empties_a_database_that_has_history(dispatcher):
    """Transactional tests end with a flush: SQLite's DELETE goes through the penalties bypass, PostgreSQL
    truncates. Both must empty the history, and leave the triggers armed afterwards."""
    log_call(dispatcher=dispatcher)
    assert StatusChange.objects.exists()
    call_command("flush", interactive=False, verbosity=0)
    assert not StatusChange.objects.exists()
    unit = OrgUnitFactory(code="after-flush")
    change = record_status_change(instance=unit, from_status="", to_status="active", by=None)
    with pytest.raises(DatabaseError), transaction.atomic():
        StatusChange.objects.filter(pk=change.pk).delete()


@pytest.mark.django_db(transaction=True)
def test_flush_still_empties_a_database_that_has_an_admin_log():
    unit = OrgUnitFactory(code="logged")
    LogEntry.objects.log_actions(user_id=UserFactory().pk, queryset=[unit], action_flag=CHANGE, change_message="x")
    call_command("flush", interactive=False, verbosity=0)
    assert not LogEntry.objects.exists()
    [entry] = LogEntry.objects.log_actions(
        user_id=UserFactory().pk, queryset=[OrgUnitFactory(code="after-flush")], action_flag=CHANGE
    )
    with pytest.raises(DatabaseError), transaction.atomic():
        LogEntry.objects.filter(pk=entry.pk).delete()
    with pytest.raises(DatabaseError), transaction.atomic():
        LogEntry.objects.filter(pk=entry.pk).update(change_message="y")
