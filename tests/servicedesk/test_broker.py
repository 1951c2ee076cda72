"""A broker that is down or hung never hangs or breaks a dispatcher's request.

The work is in the database (the call, its Notification rows); the periodic sweep
delivers what the request could not hand to the broker.
"""

import socket
import threading
import time

import pytest
from django.core import mail
from django.urls import reverse

from repairs.models import RepairCall, Zone
from servicedesk.celery import app as celery_app
from servicedesk.models import Notification
from servicedesk.notifications import notifications_deliver_pending
from tests.repairs.conftest import new_call_form


@pytest.fixture
def urban(db):
    return Zone.objects.get(code="urban")


# A hang guard only: the configured socket timeouts are a few seconds.
HANG_GUARD_SECONDS = 10


def _reset_broker_connections():
    if celery_app._pool is not None:
        celery_app._pool.force_close_all()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def broker_at():
    """Point Celery's broker somewhere else for one test, with the settings' Redis timeouts; restore after."""
    from django.conf import settings

    saved = (celery_app.conf.broker_url, celery_app.conf.broker_transport_options)

    def point(url):
        _reset_broker_connections()
        celery_app.conf.broker_url = url
        celery_app.conf.broker_transport_options = settings.REDIS_BROKER_TRANSPORT_OPTIONS

    yield point
    _reset_broker_connections()
    celery_app.conf.broker_url, celery_app.conf.broker_transport_options = saved


def _closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def hung_broker():
    """A TCP server that accepts connections and never answers, like a Redis that stopped responding."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.settimeout(0.2)
    held, stop = [], threading.Event()

    def accept():
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                held.append(conn)
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"redis://127.0.0.1:{server.getsockname()[1]}/0"
    stop.set()
    thread.join(timeout=5)
    for conn in held:
        conn.close()
    server.close()


def _log_and_dispatch(client, dispatcher, technician, urban, django_capture_on_commit_callbacks):
    client.force_login(dispatcher)
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        logged = client.post(reverse("repairs:call_log"), new_call_form(urban))
    call = RepairCall.objects.get()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        dispatched = client.post(
            reverse("repairs:call_action", args=[call.pk, "dispatch"]), {"version": 1, "technician": technician.pk}
        )
    elapsed = time.monotonic() - started
    assert callbacks, "dispatching should ask the broker to deliver the technician's notice"
    return logged, dispatched, call, elapsed


@pytest.mark.timeout(60)
@pytest.mark.parametrize("broker", ["down", "hung"])
def test_a_broken_broker_never_hangs_or_breaks_logging_and_dispatching(
    client, dispatcher, technician, urban, broker_at, hung_broker, django_capture_on_commit_callbacks, broker
):
    broker_at(f"redis://127.0.0.1:{_closed_port()}/0" if broker == "down" else hung_broker)
    logged, dispatched, call, elapsed = _log_and_dispatch(
        client, dispatcher, technician, urban, django_capture_on_commit_callbacks
    )
    assert elapsed < HANG_GUARD_SECONDS, f"the requests took {elapsed:.1f} s with the broker {broker}"
    assert logged.status_code == 302
    assert dispatched.status_code == 302
    call.refresh_from_db()
    assert call.status == RepairCall.Status.DISPATCHED and call.technician == technician
    notice = Notification.objects.get(recipient=technician)
    assert notice.sent_at is None

    # The periodic sweep delivers what the request could not hand over.
    assert notifications_deliver_pending() == 1
    assert [m.to for m in mail.outbox] == [[technician.email]]
    notice.refresh_from_db()
    assert notice.sent_at is not None


def test_after_a_failed_kick_the_process_leaves_the_broker_alone_for_a_while(monkeypatch):
    from servicedesk import notifications
    from servicedesk.tasks import deliver_pending_notifications

    kicks = []

    def hung(*args, **kwargs):
        kicks.append(1)
        raise TimeoutError("the broker did not answer within its socket timeout")

    monkeypatch.setattr(deliver_pending_notifications, "apply_async", hung)
    for _ in range(3):
        notifications.request_delivery()  # never raises
    assert len(kicks) == 1  # one socket timeout, not one per request
    notifications.broker_pause.end()
    notifications.request_delivery()
    assert len(kicks) == 2
