"""Survey cards: issued daily for every repair call (clause 二十四), answered on paper or online once."""

import datetime as dt
import secrets
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from repairs.models import RepairCall
from servicedesk.exceptions import ApplicationError
from servicedesk.models import OrgUnit
from servicedesk.scoping import user_may_act_in_unit
from servicedesk.workflow import apply_transition, lock_for_update

from ..models import CustomerOpinion, SurveyBatch, SurveyCard, SurveyPolicy
from .opinions import customer_opinion_record

# How far back a run looks for calls without a card: a run that was missed for
# up to this many days is caught up by the next one. Older gaps: pass ``since``.
CATCH_UP_DAYS = 31
ISSUE_BATCH = 1000
DEFAULT_LINK_VALID_DAYS = 30
OPINION_TEXT_MAX = 2000


class SurveyLinkInvalid(ApplicationError):
    """No such card, or the token does not belong to it (a 404: reveals nothing)."""

    status = 404


class SurveyLinkExpired(ApplicationError):
    status = 410


class SurveyAlreadyAnswered(ApplicationError):
    status = 410


def new_link_token() -> str:
    # 96 random bits: short enough to type from the card, far beyond guessing.
    return secrets.token_urlsafe(12)


def _start_of_day(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def link_valid_days_by_unit() -> dict:
    """{unit_id: days}, with the default row under None (one query)."""
    days = dict(SurveyPolicy.objects.values_list("unit_id", "link_valid_days"))
    days.setdefault(None, DEFAULT_LINK_VALID_DAYS)
    return days


def survey_cards_issue(*, now: dt.datetime, since: dt.date | None = None, batch_size: int = ISSUE_BATCH) -> int:
    """Clause 二十四: a card for every repair call of every finished day that has none yet; returns how many.

    Every call counts, cancelled ones too: the clause says all of that day's
    calls, no sampling. Only whole days are done (calls before today, local
    time), looking back ``CATCH_UP_DAYS`` so missed runs are caught up. Per unit
    it reads the (unit, received_at) index in keyset batches and inserts each
    batch with one statement; the unique call makes a rerun, a late run or two
    concurrent runs create each card exactly once.
    """
    today = timezone.localdate(now)
    first_day = since or (today - dt.timedelta(days=CATCH_UP_DAYS))
    start, end = _start_of_day(first_day), _start_of_day(today)
    if start >= end:
        return 0
    valid_days = link_valid_days_by_unit()
    created = 0
    for unit_id in OrgUnit.objects.order_by("pk").values_list("pk", flat=True):
        expires_at = now + dt.timedelta(days=valid_days.get(unit_id, valid_days[None]))
        last_id = 0
        while True:
            with transaction.atomic():
                rows = list(
                    RepairCall.objects.filter(
                        unit_id=unit_id,
                        received_at__gte=start,
                        received_at__lt=end,
                        survey_card__isnull=True,
                        id__gt=last_id,
                    )
                    .order_by("id")
                    .values_list("id", "customer_id", "received_at")[:batch_size]
                )
                if not rows:
                    break
                last_id = rows[-1][0]
                day_of = {call_id: timezone.localdate(received_at) for call_id, _c, received_at in rows}
                days = set(day_of.values())
                SurveyBatch.objects.bulk_create(
                    [SurveyBatch(unit_id=unit_id, day=day, created_at=now) for day in days], ignore_conflicts=True
                )
                batch_of_day = dict(SurveyBatch.objects.filter(unit_id=unit_id, day__in=days).values_list("day", "id"))
                cards = [
                    SurveyCard(
                        call_id=call_id,
                        batch_id=batch_of_day[day_of[call_id]],
                        unit_id=unit_id,
                        customer_id=customer_id,
                        survey_day=day_of[call_id],
                        token=new_link_token(),
                        link_expires_at=expires_at,
                        created_at=now,
                        updated_at=now,
                    )
                    for call_id, customer_id, _received in rows
                ]
                SurveyCard.objects.bulk_create(cards, ignore_conflicts=True)
                # A concurrent run may have taken some calls first: count only our own tokens.
                created += SurveyCard.objects.filter(
                    call_id__in=list(day_of), token__in=[card.token for card in cards]
                ).count()
            if len(rows) < batch_size:
                break
    return created


@dataclass(frozen=True)
class SurveyAnswer:
    """What the customer put on the card (clause 二十五): four 1–5 ratings and their own words."""

    attitude: int | None = None
    technique: int | None = None
    arrival: int | None = None
    follow_through: int | None = None
    opinion_kind: str = CustomerOpinion.Kind.SUGGESTION
    opinion_text: str = ""

    @property
    def ratings(self) -> dict:
        return {
            "rating_attitude": self.attitude,
            "rating_technique": self.technique,
            "rating_arrival": self.arrival,
            "rating_follow_through": self.follow_through,
        }


def _validate(answer: SurveyAnswer) -> None:
    for field, value in answer.ratings.items():
        if value is not None and not (isinstance(value, int) and 1 <= value <= 5):
            raise ApplicationError(_("Give a rating from 1 to 5."), field=field)
    text = (answer.opinion_text or "").strip()
    if all(value is None for value in answer.ratings.values()) and not text:
        raise ApplicationError(_("The card has no answer: give at least one rating or a comment."))
    if len(text) > OPINION_TEXT_MAX:
        raise ApplicationError(
            _("Keep it under %(limit)s characters.") % {"limit": OPINION_TEXT_MAX}, field="opinion_text"
        )
    if text and answer.opinion_kind not in CustomerOpinion.Kind.values:
        raise ApplicationError(_("Choose suggestion or complaint."), field="opinion_kind")


def _already_answered(card: SurveyCard) -> SurveyAlreadyAnswered:
    return SurveyAlreadyAnswered(
        _("Card %(number)s was already answered on %(day)s; nothing was changed.")
        % {"number": card.display_number, "day": timezone.localtime(card.answered_at).strftime("%Y-%m-%d")}
    )


def _record_answer(*, card: SurveyCard, answer: SurveyAnswer, channel: str, by, now: dt.datetime) -> SurveyCard:
    if card.status == SurveyCard.Status.ANSWERED:
        raise _already_answered(card)
    _validate(answer)
    text = answer.opinion_text.strip()
    for field, value in answer.ratings.items():
        setattr(card, field, value)
    card.opinion_text = text
    card.answered_at = now
    card.answer_channel = channel
    card.answered_by = by if (by is not None and by.is_authenticated) else None
    apply_transition(
        instance=card,
        to_status=SurveyCard.Status.ANSWERED,
        by=by,
        note=SurveyCard.Channel(channel).label,
        fields=[*answer.ratings, "opinion_text", "answered_at", "answer_channel", "answered_by"],
        at=now,
    )
    if text:
        # Clause 二十三: the customer's own words go to the service department.
        call = RepairCall.objects.select_related("unit", "customer", "technician").get(pk=card.call_id)
        customer_opinion_record(
            unit=call.unit,
            customer=call.customer,
            call=call,
            technician=call.technician,
            survey_card=card,
            kind=answer.opinion_kind,
            source=CustomerOpinion.Source.SURVEY_CARD,
            text=text,
            received_at=now,
            by=by,
        )
    return card


@transaction.atomic
def survey_card_answer_on_paper(*, user, card_id: int, answer: SurveyAnswer, now: dt.datetime | None = None):
    """A clerk types in a returned paper card."""
    if not user.has_perm("complaints.enter_survey_answer"):
        raise ApplicationError(_("You are not allowed to do this."))
    try:
        card = lock_for_update(SurveyCard.objects.all(), pk=card_id)
    except SurveyCard.DoesNotExist:
        raise ApplicationError(_("There is no card with this number."), field="card_number") from None
    if not user_may_act_in_unit(user=user, unit_id=card.unit_id):
        # Another unit's card is simply not found.
        raise ApplicationError(_("There is no card with this number."), field="card_number")
    return _record_answer(
        card=card, answer=answer, channel=SurveyCard.Channel.PAPER, by=user, now=now or timezone.now()
    )


def token_matches(card: SurveyCard | None, token: str) -> bool:
    # Constant time, and the same work whether or not the card exists.
    expected = card.token if card is not None else "x" * 16
    return secrets.compare_digest(expected.encode(), (token or "").encode()) and card is not None


def check_link(*, card: SurveyCard | None, token: str, now: dt.datetime) -> SurveyCard:
    """The card behind a private link, or the reason the link does not work."""
    if not token_matches(card, token):
        raise SurveyLinkInvalid(_("This link does not exist. Check that it was typed exactly as printed on the card."))
    if card.status == SurveyCard.Status.ANSWERED:
        raise SurveyAlreadyAnswered(_("This card has already been answered. Thank you; nothing was changed."))
    if card.is_link_expired(now=now):
        raise SurveyLinkExpired(
            _("This link expired on %(day)s. You can still return the paper card by post.")
            % {"day": timezone.localtime(card.link_expires_at).strftime("%Y-%m-%d")}
        )
    return card


@transaction.atomic
def survey_card_answer_online(*, card_id: int, token: str, answer: SurveyAnswer, now: dt.datetime | None = None):
    """The customer answers through the card's private link: that card only, once, before it expires."""
    now = now or timezone.now()
    try:
        card = lock_for_update(SurveyCard.objects.all(), pk=card_id)
    except SurveyCard.DoesNotExist:
        card = None
    card = check_link(card=card, token=token, now=now)
    return _record_answer(card=card, answer=answer, channel=SurveyCard.Channel.ONLINE, by=None, now=now)
