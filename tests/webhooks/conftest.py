import pytest

from webhooks.models import WebhookSubscription

from .receiver import Receiver


@pytest.fixture
def receiver():
    with Receiver() as running:
        yield running


@pytest.fixture
def subscribe(db, receiver):
    def make(*, events=("call.logged", "call.dispatched", "call.resolved"), **kwargs):
        subscription = WebhookSubscription.objects.create(
            name="ERP", url=kwargs.pop("url", receiver.url), events=list(events), **kwargs
        )
        receiver.secret = subscription.secret
        return subscription

    return make
