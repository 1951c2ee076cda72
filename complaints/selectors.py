"""Reads, always scoped to the user's unit (deny by default); another unit's record is a 404."""

import datetime as dt

from django.db.models import Count, Q, QuerySet
from django.http import Http404

from servicedesk.models import OrgUnit
from servicedesk.scoping import scope_to_user, user_may_act_in_unit

from .models import CustomerOpinion, SurveyBatch, SurveyCard
from .services.surveys import check_link


def survey_batch_list(*, user) -> QuerySet:
    return (
        scope_to_user(SurveyBatch.objects.all(), user=user)
        .select_related("unit")
        .annotate(
            card_count=Count("cards"),
            answered_count=Count("cards", filter=Q(cards__status=SurveyCard.Status.ANSWERED)),
        )
        .order_by("-day", "unit__name", "pk")
    )


def survey_batch_get_for_user(*, user, pk: int) -> SurveyBatch:
    try:
        return scope_to_user(SurveyBatch.objects.select_related("unit"), user=user).get(pk=pk)
    except SurveyBatch.DoesNotExist:
        raise Http404 from None


def survey_batch_cards(*, batch: SurveyBatch) -> list[SurveyCard]:
    """The batch's cards in print order, with everything a printed card shows (one query)."""
    return list(
        batch.cards.select_related("customer", "call", "call__site", "call__product", "call__technician").order_by("id")
    )


def survey_card_recent_entries(*, user, limit: int = 10) -> list[SurveyCard]:
    """The last paper cards this user typed in, to check the batch just entered."""
    return list(
        scope_to_user(SurveyCard.objects.all(), user=user)
        .filter(answered_by=user, answer_channel=SurveyCard.Channel.PAPER)
        .select_related("customer", "call", "call__technician")
        .order_by("-answered_at", "-id")[:limit]
    )


def survey_card_for_link(*, card_id: int, token: str, now: dt.datetime) -> SurveyCard:
    """The public link's card (no login): raises SurveyLinkInvalid / Expired / AlreadyAnswered."""
    card = SurveyCard.objects.select_related("customer", "call", "call__technician", "unit").filter(pk=card_id).first()
    return check_link(card=card, token=token, now=now)


def customer_opinion_list(*, user, filters: dict) -> QuerySet:
    qs = scope_to_user(CustomerOpinion.objects.all(), user=user).select_related(
        "unit", "customer", "call", "technician", "survey_card"
    )
    if filters.get("unit"):
        qs = qs.filter(unit=filters["unit"])
    if filters.get("kind"):
        qs = qs.filter(kind=filters["kind"])
    if filters.get("status"):
        qs = qs.filter(status=filters["status"])
    if filters.get("source"):
        qs = qs.filter(source=filters["source"])
    return qs.order_by("-received_at", "-id")


def customer_opinion_get_for_user(*, user, pk: int) -> CustomerOpinion:
    try:
        return scope_to_user(CustomerOpinion.objects.all(), user=user).get(pk=pk)
    except CustomerOpinion.DoesNotExist:
        raise Http404 from None


def units_visible(*, user) -> QuerySet:
    """The field units a user may pick: all of them for head office, else their own."""
    units = OrgUnit.objects.exclude(kind__in=OrgUnit.HEAD_OFFICE_KINDS).order_by("name")
    if user.sees_all_units:
        return units
    return units.filter(pk=user.unit_id) if user.unit_id else units.none()


def appraisal_unit_for_user(*, user, unit_id: int | None) -> OrgUnit:
    """The unit whose appraisal the user asked for; another unit's is not found."""
    if unit_id is None:
        if user.sees_all_units:
            unit = units_visible(user=user).first()
            if unit is None:
                raise Http404
            return unit
        unit_id = user.unit_id
    if unit_id is None or not user_may_act_in_unit(user=user, unit_id=unit_id):
        raise Http404
    try:
        return OrgUnit.objects.get(pk=unit_id)
    except OrgUnit.DoesNotExist:
        raise Http404 from None
