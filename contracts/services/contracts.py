"""Creating contracts and renewing their terms."""

import datetime as dt
import re
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from repairs.models import Customer, Product, Site
from servicedesk.exceptions import ApplicationError
from servicedesk.models import OrgUnit
from servicedesk.workflow import apply_transition, lock_for_update, record_status_change

from ..models import Contract, ContractProduct, ContractSite, ContractTerm, ContractType, RenewalFollowUp
from .common import allocate_numbers, check_term_dates, initial_status, require, term_notice_on

SERIAL_SEPARATORS = re.compile(r"[\s,;|，；、]+")


def split_serial_numbers(raw: str) -> list[str]:
    """Serial numbers typed or pasted one per line, or separated by commas or semicolons (also Chinese ones)."""
    seen: dict[str, None] = {}
    for serial in SERIAL_SEPARATORS.split(raw or ""):
        if serial:
            seen.setdefault(serial, None)
    return list(seen)


def _overlapping_cover(*, product_ids, site_ids, start_on: dt.date, end_on: dt.date, exclude_contract_id=None):
    """The first term of another contract that covers one of these products or sites on a day of this period."""
    if not product_ids and not site_ids:
        return None
    covering = Q(contract_id__in=ContractProduct.objects.filter(product_id__in=product_ids).values("contract_id"))
    covering |= Q(contract_id__in=ContractSite.objects.filter(site_id__in=site_ids).values("contract_id"))
    qs = ContractTerm.objects.filter(covering, start_on__lte=end_on, end_on__gte=start_on)
    if exclude_contract_id:
        qs = qs.exclude(contract_id=exclude_contract_id)
    return qs.select_related("contract").order_by("start_on").first()


@transaction.atomic
def contract_create(
    *,
    user,
    unit: OrgUnit,
    customer: Customer,
    contract_type: ContractType,
    start_on: dt.date,
    end_on: dt.date,
    fee: Decimal,
    visit_frequency: str,
    serial_numbers: list[str] = (),
    sites: list[Site] = (),
    handled_by=None,
    number: str = "",
    note: str = "",
    now: dt.datetime | None = None,
) -> Contract:
    """A new maintenance contract with its first term, covering products by serial number and/or whole sites."""
    require(user, "contracts.manage_contracts", unit_id=unit.pk)
    now = now or timezone.now()
    if customer.unit_id != unit.pk:
        raise ApplicationError(_("This customer belongs to another unit."), field="customer")
    if not contract_type.is_active:
        raise ApplicationError(_("This contract type is no longer in use."), field="contract_type")
    check_term_dates(start_on=start_on, end_on=end_on, fee=fee)

    serial_numbers = list(dict.fromkeys(serial_numbers))
    products = list(Product.objects.filter(serial_number__in=serial_numbers))
    missing = sorted(set(serial_numbers) - {p.serial_number for p in products})
    if missing:
        raise ApplicationError(
            _("No product with serial number %(serials)s is registered.") % {"serials": ", ".join(missing)},
            field="serial_numbers",
        )
    foreign = sorted(p.serial_number for p in products if p.customer_id != customer.pk)
    if foreign:
        raise ApplicationError(
            _("Serial number %(serials)s belongs to another customer.") % {"serials": ", ".join(foreign)},
            field="serial_numbers",
        )
    sites = list(sites)
    if any(site.customer_id != customer.pk for site in sites):
        raise ApplicationError(_("Choose sites of this customer only."), field="sites")
    if not products and not sites:
        raise ApplicationError(_("A contract covers at least one product or one site."), field="serial_numbers")
    clash = _overlapping_cover(
        product_ids=[p.pk for p in products], site_ids=[s.pk for s in sites], start_on=start_on, end_on=end_on
    )
    if clash:
        raise ApplicationError(
            _("Contract %(number)s already covers some of these from %(start)s to %(end)s.")
            % {"number": clash.contract.number, "start": clash.start_on, "end": clash.end_on},
            field="serial_numbers" if products else "sites",
        )
    if handled_by is not None and handled_by.unit_id != unit.pk:
        raise ApplicationError(_("Choose someone of the contract's unit."), field="handled_by")

    number = (number or "").strip()
    if number:
        if Contract.objects.filter(number=number).exists():
            raise ApplicationError(
                _("Contract number %(number)s is already used.") % {"number": number}, field="number"
            )
    else:
        [number] = allocate_numbers(series="MC", count=1, at=now)
    try:
        with transaction.atomic():
            contract = Contract.objects.create(
                number=number,
                unit=unit,
                customer=customer,
                contract_type=contract_type,
                handled_by=handled_by,
                note=note.strip(),
                created_by=user,
                created_at=now,
            )
    except IntegrityError:  # the same number typed in by someone else a moment ago
        raise ApplicationError(
            _("Contract number %(number)s is already used.") % {"number": number}, field="number"
        ) from None
    ContractProduct.objects.bulk_create([ContractProduct(contract=contract, product=p) for p in products])
    ContractSite.objects.bulk_create([ContractSite(contract=contract, site=s) for s in sites])
    today = timezone.localdate(now)
    term = ContractTerm.objects.create(
        contract=contract,
        sequence=1,
        start_on=start_on,
        end_on=end_on,
        fee=fee,
        visit_frequency=visit_frequency,
        status=initial_status(end_on=end_on, today=today),
        notice_on=term_notice_on(end_on=end_on, contract_type=contract_type),
        created_by=user,
        created_at=now,
        updated_at=now,
    )
    record_status_change(instance=term, from_status="", to_status=term.status, by=user, at=now)
    return contract


@transaction.atomic
def contract_term_renew(
    *,
    user,
    term_id: int,
    end_on: dt.date,
    fee: Decimal,
    visit_frequency: str,
    start_on: dt.date | None = None,
    note: str = "",
    expected_version: int | None = None,
    now: dt.datetime | None = None,
) -> ContractTerm:
    """Renewal creates the next term, linked to this one; the term becomes “renewed” and its follow-up closes.

    The next term gets its own expiry notice when its own window begins; the
    renewed one never gets one any more (the daily run reads active terms only).
    """
    now = now or timezone.now()
    term = lock_for_update(ContractTerm.objects.select_related("contract__contract_type"), pk=term_id)
    require(user, "contracts.manage_contracts", unit_id=term.contract.unit_id)
    if expected_version is not None and term.version != expected_version:
        raise ApplicationError(_("This term was changed by someone else a moment ago. Reload and try again."))
    if term.status == ContractTerm.Status.RENEWED:
        raise ApplicationError(_("This term has already been renewed."))
    start_on = start_on or term.end_on + dt.timedelta(days=1)
    if start_on <= term.end_on:
        raise ApplicationError(
            _("The new term must start after the current one ends (%(end)s).") % {"end": term.end_on},
            field="start_on",
        )
    check_term_dates(start_on=start_on, end_on=end_on, fee=fee)
    contract = term.contract
    try:
        with transaction.atomic():
            new_term = ContractTerm.objects.create(
                contract=contract,
                sequence=term.sequence + 1,
                previous=term,
                start_on=start_on,
                end_on=end_on,
                fee=fee,
                visit_frequency=visit_frequency,
                status=initial_status(end_on=end_on, today=timezone.localdate(now)),
                notice_on=term_notice_on(end_on=end_on, contract_type=contract.contract_type),
                created_by=user,
                created_at=now,
                updated_at=now,
            )
    except IntegrityError:  # cannot happen under the row lock; the unique link is the backstop
        raise ApplicationError(_("This term has already been renewed.")) from None
    record_status_change(
        instance=new_term,
        from_status="",
        to_status=new_term.status,
        by=user,
        at=now,
        note=_("Renewal of term %(sequence)d.") % {"sequence": term.sequence},
    )
    apply_transition(
        instance=term,
        to_status=ContractTerm.Status.RENEWED,
        by=user,
        at=now,
        note=note.strip()
        or _("Renewed: term %(sequence)d runs from %(start)s to %(end)s.")
        % {"sequence": new_term.sequence, "start": start_on, "end": end_on},
    )
    follow_up = RenewalFollowUp.objects.filter(term=term).only("pk").first()
    if follow_up is not None:
        follow_up = lock_for_update(RenewalFollowUp.objects.all(), pk=follow_up.pk)
        if follow_up.status != RenewalFollowUp.Status.RENEWED:
            follow_up.closed_at = now
            follow_up.closed_by = user
            apply_transition(
                instance=follow_up,
                to_status=RenewalFollowUp.Status.RENEWED,
                by=user,
                at=now,
                note=note.strip(),
                fields=["closed_at", "closed_by"],
            )
    return new_term


def contract_type_reschedule_notices(*, contract_type: ContractType, batch_size: int = 2000) -> int:
    """After an administrator changes a type's window: move the notice date of its terms not yet noticed."""
    changed = 0
    pending = ContractTerm.objects.filter(
        contract__contract_type=contract_type, status=ContractTerm.Status.ACTIVE, noticed_at__isnull=True
    ).only("id", "end_on", "notice_on")
    last_id = 0
    while True:
        with transaction.atomic():
            batch = list(pending.filter(id__gt=last_id).order_by("id")[:batch_size])
            if not batch:
                return changed
            moved = []
            for term in batch:
                wanted = term_notice_on(end_on=term.end_on, contract_type=contract_type)
                if term.notice_on != wanted:
                    term.notice_on = wanted
                    moved.append(term)
            ContractTerm.objects.bulk_update(moved, ["notice_on"])
            changed += len(moved)
            last_id = batch[-1].id


def staff_of_unit(*, unit_id: int | None):
    """People who may handle a unit's contracts (dispatchers / clerks and supervisors)."""
    from servicedesk.roles import Role

    people = get_user_model().objects.filter(
        is_active=True, groups__name__in=[Role.DISPATCHER, Role.SUPERVISOR], unit__isnull=False
    )
    if unit_id is not None:  # None: every unit's (head office choosing for a unit)
        people = people.filter(unit_id=unit_id)
    return people.distinct().order_by("first_name", "username")
