import datetime as dt
from decimal import Decimal

from django.db import migrations

# Defaults only: administrators keep the kinds, the criteria table and the resale window in the admin site.
KINDS = [
    # code, name, severity, minimum per base unit
    ("warning", "警告 Warning", 10, "0.00"),
    # The standard: one minor demerit deducts at least 800 yuan per base unit.
    ("minor_demerit", "小过 Minor demerit", 20, "800.00"),
    ("major_demerit", "大过 Major demerit", 30, "800.00"),
]
# The first version covers every case ever received: the standard's row for any cause and any loss.
FIRST_VERSION_FROM = dt.date(2000, 1, 1)


def add_defaults(apps, schema_editor):
    PenaltyKind = apps.get_model("penalties", "PenaltyKind")
    CriteriaVersion = apps.get_model("penalties", "CriteriaVersion")
    CriteriaRow = apps.get_model("penalties", "CriteriaRow")
    ResaleWindowPolicy = apps.get_model("penalties", "ResaleWindowPolicy")
    kinds = {}
    for code, name, severity, minimum in KINDS:
        kinds[code], _ = PenaltyKind.objects.get_or_create(
            code=code, defaults={"name": name, "severity": severity, "minimum_per_unit": Decimal(minimum)}
        )
    if not CriteriaVersion.objects.exists():
        version = CriteriaVersion.objects.create(
            effective_from=FIRST_VERSION_FROM, note="客户投诉罚扣判定基准 (标准) The standard's table"
        )
        CriteriaRow.objects.create(
            version=version,
            cause_category=None,
            loss_from=Decimal("0.00"),
            loss_to=None,
            penalty_kind=kinds["minor_demerit"],
            amount_per_unit=Decimal("800.00"),
            base_units=Decimal("1"),
            note="一小过每基数至少扣 800 元 One minor demerit: at least 800 yuan per base unit",
        )
    if not ResaleWindowPolicy.objects.exists():
        # Returned goods get one calendar month to be resold.
        ResaleWindowPolicy.objects.create(months=1, days=0)


class Migration(migrations.Migration):
    dependencies = [("penalties", "0001_initial")]

    operations = [migrations.RunPython(add_defaults, migrations.RunPython.noop)]
