"""servicedesk.form_html with ``widget_type_class`` writes what crispy's Bootstrap 5 pack writes for the opinion and
ruling pages' unbound forms, token for token (issue 17); a form sent back with errors is still drawn by crispy
(its error blocks are laid out otherwise)."""

import pytest
from django.template import Context, Template

from complaints.case_forms import (
    FollowUpForm,
    OpinionClassifyForm,
    OpinionCloseForm,
    OpinionForwardForm,
    OpinionResolveForm,
)
from penalties.forms import CorrectForm, ReasonForm
from servicedesk.form_html import form_html
from tests.servicedesk.test_fast_forms import CRISPY, _squeezed

FORMS = [
    ("classify", lambda data: OpinionClassifyForm(data, initial={"kind": "complaint", "severity": "general"})),
    ("forward", lambda data: OpinionForwardForm(data)),
    ("resolve", lambda data: OpinionResolveForm(data)),
    ("close", lambda data: OpinionCloseForm(data)),
    ("follow up", lambda data: FollowUpForm(data)),
    ("cancel", lambda data: ReasonForm(data, initial={"version": 2}, prefix="cancel")),
    ("correct", lambda data: CorrectForm(data, prefix="correct")),
]


@pytest.mark.parametrize("name,make", FORMS, ids=[name for name, _ in FORMS])
def test_an_unbound_form_is_written_as_crispy_writes_it(db, name, make):
    ours = _squeezed(form_html(make(None), widget_type_class=True))
    assert ours == _squeezed(CRISPY.render(Context({"form": make(None)})))
    assert any("form-control" in str(token) or "form-select" in str(token) for token in ours)


PAGE_FORM = Template(  # as the opinion and ruling pages draw their forms
    "{% load form_html crispy_forms_tags %}"
    '{% if form.is_bound %}{{ form|crispy }}{% else %}{{ form|form_html:"crispy" }}{% endif %}'
)


@pytest.mark.parametrize("name,make", FORMS, ids=[name for name, _ in FORMS])
def test_the_pages_draw_a_form_sent_back_through_crispy(db, name, make):
    sent = make({})
    sent.is_valid()
    assert PAGE_FORM.render(Context({"form": sent})) == CRISPY.render(Context({"form": make({})}))
