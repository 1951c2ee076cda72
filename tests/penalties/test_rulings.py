"""Responsibility shares, the proposal from the criteria table, the GM office's adjustment, the approval."""

from decimal import Decimal

import pytest
from django.db.models import Sum

from penalties import services
from penalties.models import AuditEntry, PenaltyKind, PenaltyLine, PenaltyRuling
from penalties.services import ShareInput
from servicedesk.exceptions import ApplicationError
from servicedesk.models import OrgUnit
from servicedesk.roles import Role
from tests.factories import OrgUnitFactory, UserFactory

from .conftest import approved_ruling, make_ruled_case, open_and_propose


def test_opening_a_ruling_puts_the_whole_loss_on_the_person_the_investigation_named(ruled_case, gm_office, technician):
    ruling = services.ruling_open(user=gm_office, case_id=ruled_case.pk)
    (line,) = ruling.lines.all()
    assert (line.person, line.share_percent) == (technician, Decimal("100"))
    assert ruling.status == PenaltyRuling.Status.DRAFT
    assert ruling.number.startswith("PN-")


def test_a_case_not_yet_ruled_gets_no_ruling(unit, technician, gm_office):
    case = make_ruled_case(unit=unit, responsible_person=technician)
    case.status = case.Status.APPROVAL
    case.save()
    with pytest.raises(ApplicationError, match="not ruled"):
        services.ruling_open(user=gm_office, case_id=case.pk)


def test_a_case_gets_one_live_ruling(ruled_case, gm_office):
    services.ruling_open(user=gm_office, case_id=ruled_case.pk)
    with pytest.raises(ApplicationError, match="already"):
        services.ruling_open(user=gm_office, case_id=ruled_case.pk)


def test_the_proposal_uses_the_standards_row_and_says_why(ruled_case, gm_office):
    ruling = open_and_propose(case=ruled_case, by=gm_office)
    (line,) = ruling.lines.all()
    assert ruling.status == PenaltyRuling.Status.PROPOSED
    assert ruling.loss_amount == Decimal("1234.56")
    assert line.loss_share == Decimal("1234.56")
    assert line.penalty_kind.code == "minor_demerit"
    assert (line.base_units, line.amount_per_unit, line.deduction) == (Decimal("1"), Decimal("800"), Decimal("800.00"))
    assert line.criteria_row.version == ruling.criteria_version
    assert "800" in line.explanation and f"#{line.criteria_row_id}" in line.explanation
    assert ruling.total_deduction == Decimal("800.00")


def test_shares_must_add_up_to_exactly_one_hundred(ruled_case, gm_office, technician, supervisor):
    ruling = services.ruling_open(user=gm_office, case_id=ruled_case.pk)
    with pytest.raises(ApplicationError, match="100"):
        services.ruling_set_shares(
            user=gm_office,
            ruling_id=ruling.pk,
            shares=[ShareInput(Decimal("60"), person=technician), ShareInput(Decimal("39.99"), person=supervisor)],
        )
    services.ruling_set_shares(
        user=gm_office,
        ruling_id=ruling.pk,
        shares=[ShareInput(Decimal("60"), person=technician), ShareInput(Decimal("40"), person=supervisor)],
    )
    assert PenaltyRuling.objects.get(pk=ruling.pk).shares_total == Decimal("100")


def test_personal_negligence_puts_the_whole_loss_on_one_person(ruled_case, gm_office, technician, supervisor):
    ruling = services.ruling_open(user=gm_office, case_id=ruled_case.pk)
    with pytest.raises(ApplicationError, match="whole loss"):
        services.ruling_set_shares(
            user=gm_office,
            ruling_id=ruling.pk,
            shares=[
                ShareInput(Decimal("50"), person=technician, personal_negligence=True),
                ShareInput(Decimal("50"), person=supervisor),
            ],
        )
    services.ruling_set_shares(
        user=gm_office,
        ruling_id=ruling.pk,
        shares=[ShareInput(Decimal("100"), person=technician, personal_negligence=True)],
    )


def test_a_service_department_bears_a_share_only_when_no_person_can_be_named(ruled_case, gm_office, unit, quality):
    ruling = services.ruling_open(user=gm_office, case_id=ruled_case.pk)
    assert unit.kind == OrgUnit.Kind.SERVICE_CENTRE
    with pytest.raises(ApplicationError, match="name the person"):
        services.ruling_set_shares(
            user=gm_office, ruling_id=ruling.pk, shares=[ShareInput(Decimal("100"), department=unit)]
        )
    services.ruling_set_shares(
        user=gm_office,
        ruling_id=ruling.pk,
        shares=[
            ShareInput(Decimal("50"), department=unit, unattributable_reason="Night shift, no record of who"),
            ShareInput(Decimal("50"), department=quality),  # not a sales or service department
        ],
    )


def test_a_case_without_a_responsible_person_falls_on_the_department(unit, gm_office):
    case = make_ruled_case(unit=unit, responsible_unit=unit, costs=["100"])
    ruling = services.ruling_open(user=gm_office, case_id=case.pk)
    (line,) = ruling.lines.all()
    assert line.department == unit and line.person is None and line.unattributable_reason


def test_the_gm_office_adjusts_by_the_person_and_severity_with_a_reason(ruled_case, gm_office):
    ruling = open_and_propose(case=ruled_case, by=gm_office)
    line = ruling.lines.get()
    major = PenaltyKind.objects.get(code="major_demerit")
    with pytest.raises(ApplicationError, match="why"):
        services.ruling_line_adjust(
            user=gm_office,
            line_id=line.pk,
            penalty_kind=major,
            base_units=Decimal("2"),
            amount_per_unit=Decimal("900"),
            reason=" ",
        )
    with pytest.raises(ApplicationError, match="at least 800"):
        services.ruling_line_adjust(
            user=gm_office,
            line_id=line.pk,
            penalty_kind=major,
            base_units=Decimal("2"),
            amount_per_unit=Decimal("799.99"),
            reason="Repeat offence",
        )
    line = services.ruling_line_adjust(
        user=gm_office,
        line_id=line.pk,
        penalty_kind=major,
        base_units=Decimal("1.5"),
        amount_per_unit=Decimal("833.33"),
        reason="Repeat offence",
    )
    # 1.5 × 833.33 = 1249.995 → 1250.00 (ROUND_HALF_UP to the fen)
    assert line.deduction == Decimal("1250.00")
    assert (line.proposed_kind.code, line.proposed_deduction) == ("minor_demerit", Decimal("800.00"))
    assert PenaltyRuling.objects.get(pk=ruling.pk).total_deduction == Decimal("1250.00")
    entry = AuditEntry.objects.get(action="line_adjust")
    assert entry.old_values["deduction"] == "800.00" and entry.new_values["deduction"] == "1250.00"
    assert entry.actor == gm_office and entry.note == "Repeat offence"


# --- The four-eyes rule (clause 六) ---------------------------------------------------------------------------


@pytest.fixture
def proposed(ruled_case, gm_office):
    return open_and_propose(case=ruled_case, by=gm_office)


def test_a_manager_approves(proposed, manager):
    ruling = services.ruling_approve(user=manager, ruling_id=proposed.pk)
    assert ruling.status == PenaltyRuling.Status.APPROVED
    assert (ruling.approved_by, ruling.approved_at is not None) == (manager, True)


def test_the_gm_office_cannot_approve_its_own_proposal(proposed, gm_office, gm_office_2):
    for user in (gm_office, gm_office_2):
        with pytest.raises(ApplicationError, match="manager approves"):
            services.ruling_approve(user=user, ruling_id=proposed.pk)


def test_the_proposer_cannot_approve_even_as_a_manager(ruled_case, quality):
    both = UserFactory(username="both", unit=quality, roles=[Role.GM_OFFICE, Role.DEPARTMENT_HEAD])
    ruling = open_and_propose(case=ruled_case, by=both)
    with pytest.raises(ApplicationError, match="You proposed"):
        services.ruling_approve(user=both, ruling_id=ruling.pk)


def test_the_adjuster_cannot_approve(ruled_case, gm_office, quality):
    adjuster = UserFactory(username="adj", unit=quality, roles=[Role.GM_OFFICE, Role.DEPUTY_GM])
    ruling = open_and_propose(case=ruled_case, by=gm_office)
    line = ruling.lines.get()
    services.ruling_line_adjust(
        user=adjuster,
        line_id=line.pk,
        penalty_kind=line.penalty_kind,
        base_units=Decimal("2"),
        amount_per_unit=Decimal("800"),
        reason="Second time this year",
    )
    with pytest.raises(ApplicationError, match="prepared or adjusted"):
        services.ruling_approve(user=adjuster, ruling_id=ruling.pk)


def test_the_person_who_set_the_shares_cannot_approve(ruled_case, gm_office, quality, technician):
    helper = UserFactory(username="helper", unit=quality, roles=[Role.GM_OFFICE, Role.DEPARTMENT_HEAD])
    ruling = services.ruling_open(user=gm_office, case_id=ruled_case.pk)
    services.ruling_set_shares(user=helper, ruling_id=ruling.pk, shares=[ShareInput(Decimal("100"), person=technician)])
    services.ruling_propose(user=gm_office, ruling_id=ruling.pk)
    with pytest.raises(ApplicationError, match="prepared or adjusted"):
        services.ruling_approve(user=helper, ruling_id=ruling.pk)


def test_a_penalised_manager_cannot_approve(unit, gm_office, quality):
    penalised = UserFactory(username="penalised-head", unit=quality, roles=[Role.DEPARTMENT_HEAD])
    case = make_ruled_case(unit=unit, responsible_person=penalised, costs=["10"])
    ruling = open_and_propose(case=case, by=gm_office)
    with pytest.raises(ApplicationError, match="penalised"):
        services.ruling_approve(user=penalised, ruling_id=ruling.pk)


def test_a_technician_cannot_approve(proposed, technician):
    with pytest.raises(ApplicationError, match="manager"):
        services.ruling_approve(user=technician, ruling_id=proposed.pk)
    assert PenaltyRuling.objects.get(pk=proposed.pk).status == PenaltyRuling.Status.PROPOSED


def test_approval_waits_for_the_final_loss(unit, technician, gm_office, manager):
    case = make_ruled_case(unit=unit, responsible_person=technician, returns=["5000"])
    ruling = open_and_propose(case=case, by=gm_office)
    assert ruling.loss_was_final is False
    with pytest.raises(ApplicationError, match="provisional"):
        services.ruling_approve(user=manager, ruling_id=ruling.pk)


def test_a_stale_page_cannot_approve(proposed, manager):
    with pytest.raises(ApplicationError, match="meanwhile"):
        services.ruling_approve(user=manager, ruling_id=proposed.pk, expected_version=proposed.version - 1)


# --- Corrections ------------------------------------------------------------------------------------------------


def test_a_reversal_nets_the_approved_penalty_out(ruled_case, gm_office, manager, deputy_gm):
    original = approved_ruling(case=ruled_case, by=gm_office, approver=manager)
    correction = services.ruling_correct(
        user=gm_office, ruling_id=original.pk, kind=PenaltyRuling.Kind.REVERSAL, reason="Wrong person"
    )
    assert correction.status == PenaltyRuling.Status.PROPOSED and correction.corrects == original
    (line,) = correction.lines.all()
    assert line.deduction == Decimal("-800.00") and line.reverses == original.lines.get()
    with pytest.raises(ApplicationError):
        services.ruling_approve(user=gm_office, ruling_id=correction.pk)
    services.ruling_approve(user=deputy_gm, ruling_id=correction.pk)
    total = sum(PenaltyLine.objects.filter(ruling__status="approved").values_list("deduction", flat=True))
    assert total == Decimal("0.00")
    original.refresh_from_db()
    assert original.status == PenaltyRuling.Status.APPROVED and original.total_deduction == Decimal("800.00")


def test_an_amendment_reverses_and_restates(ruled_case, gm_office, manager, deputy_gm, technician, supervisor):
    original = approved_ruling(case=ruled_case, by=gm_office, approver=manager)
    amendment = services.ruling_correct(
        user=gm_office, ruling_id=original.pk, kind=PenaltyRuling.Kind.AMENDMENT, reason="Shared with supervisor"
    )
    assert amendment.status == PenaltyRuling.Status.DRAFT
    services.ruling_set_shares(
        user=gm_office,
        ruling_id=amendment.pk,
        shares=[ShareInput(Decimal("50"), person=technician), ShareInput(Decimal("50"), person=supervisor)],
    )
    services.ruling_propose(user=gm_office, ruling_id=amendment.pk)
    amendment = services.ruling_approve(user=deputy_gm, ruling_id=amendment.pk)
    deductions = dict(
        PenaltyLine.objects.filter(ruling__status="approved")
        .values_list("person__username")
        .annotate(total=Sum("deduction"))
    )
    assert deductions == {"tech": Decimal("800.00"), "supervisor": Decimal("800.00")}
    assert amendment.total_deduction == Decimal("800.00")  # −800 + 800 + 800
    with pytest.raises(ApplicationError, match="correction already"):
        services.ruling_correct(user=gm_office, ruling_id=original.pk, kind="reversal", reason="again")


def test_only_an_approved_ruling_is_corrected(proposed, gm_office):
    with pytest.raises(ApplicationError, match="Only an approved"):
        services.ruling_correct(user=gm_office, ruling_id=proposed.pk, kind="reversal", reason="x")


def test_another_units_gm_office_cannot_act(ruled_case, other_unit):
    outsider = UserFactory(username="sz-gm", unit=other_unit, roles=[Role.GM_OFFICE])
    with pytest.raises(ApplicationError, match="another unit"):
        services.ruling_open(user=outsider, case_id=ruled_case.pk)


def test_every_step_is_in_the_audit_trail(ruled_case, gm_office, manager):
    ruling = approved_ruling(case=ruled_case, by=gm_office, approver=manager)
    actions = list(AuditEntry.objects.filter(ruling=ruling).order_by("id").values_list("action", "actor__username"))
    assert actions == [("ruling_open", "gmoffice"), ("ruling_propose", "gmoffice"), ("ruling_approve", "depthead")]


def test_a_department_head_of_a_branch_is_still_a_manager(ruled_case, gm_office):
    branch = OrgUnitFactory(code="hq-x", name="HQ X", kind=OrgUnit.Kind.HEAD_OFFICE)
    head = UserFactory(username="head-x", unit=branch, roles=[Role.DEPARTMENT_HEAD])
    ruling = open_and_propose(case=ruled_case, by=gm_office)
    assert services.approval_refusal(user=head, ruling=ruling) is None
