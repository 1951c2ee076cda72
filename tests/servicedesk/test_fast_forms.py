"""servicedesk.fast_forms writes the markup crispy's Bootstrap 5 pack gives the call page's unbound forms (issue 17)."""

import re
from html.parser import HTMLParser

import pytest
from django.template import Context, Template

from repairs.forms import CancelForm, CloseForm, DispatchForm, ResolveForm
from repairs.forms_visits import ArrivalForm, EnterArrivalForm, LeaveUnfinishedForm, NoSignatureForm, PlanVisitForm
from servicedesk.fast_forms import unbound_form_html
from servicedesk.models import User

CRISPY = Template("{% load crispy_forms_tags %}{{ form|crispy }}")


class _Tokens(HTMLParser):
    """The markup as the browser reads it: tags with their attributes in any order, text without the
    whitespace around it."""

    def __init__(self):
        super().__init__()
        self.tokens = []

    def handle_starttag(self, tag, attrs):
        self.tokens.append(("<", tag, tuple(sorted(attrs))))

    def handle_endtag(self, tag):
        self.tokens.append((">", tag))

    def handle_data(self, data):
        text = re.sub(r"\s+", " ", data).strip()
        if text:
            self.tokens.append(("text", text))


def _squeezed(markup: str) -> list:
    parser = _Tokens()
    parser.feed(str(markup))
    return parser.tokens


def _technicians(technician):
    return User.objects.filter(pk=technician.pk)


FORMS = [
    ("dispatch", lambda t: DispatchForm(initial={"version": 3, "technician": t.pk}, technicians=_technicians(t))),
    ("plan", lambda t: PlanVisitForm(initial={"version": 3, "technician": t.pk}, technicians=_technicians(t))),
    ("arrive", lambda t: ArrivalForm(initial={"version": 3})),
    ("enter arrival", lambda t: EnterArrivalForm(initial={"version": 3})),
    ("leave", lambda t: LeaveUnfinishedForm(initial={"version": 3})),
    ("resolve", lambda t: ResolveForm(initial={"version": 3})),
    ("cancel", lambda t: CancelForm(initial={"version": 3})),
    ("close", lambda t: CloseForm(initial={"version": 3})),
    ("no signature", lambda t: NoSignatureForm()),
]


@pytest.mark.parametrize("name,make", FORMS, ids=[name for name, _ in FORMS])
def test_an_unbound_form_is_written_as_crispy_writes_it(name, make, technician):
    form = make(technician)
    fast = unbound_form_html(form)
    assert fast is not None, f"{name}: drawn by crispy, not by fast_forms"
    assert _squeezed(fast) == _squeezed(CRISPY.render(Context({"form": form})))


def test_a_bound_form_goes_through_crispy(technician):
    assert unbound_form_html(NoSignatureForm(data={"reason": "absent"})) is None
