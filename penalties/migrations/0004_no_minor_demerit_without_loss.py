"""The default criteria give a warning, not a minor demerit, for a loss of 0.00 (DOMAIN 8).

The standard's row (a minor demerit, at least 800 yuan per base unit) applies to a loss; a party whose
share of the loss is nothing gets a warning with no deduction. Only the default table as the first
migration wrote it is changed (one row, for any cause, from 0.00 with no upper limit, a minor demerit)
and only while no ruling has used it; a table an administrator has changed, or one that rulings read,
stays as it is (history never changes: a new version is the way).
"""

from decimal import Decimal

from django.db import migrations

NO_LOSS_BELOW = Decimal("0.01")


def split_the_default_row(apps, schema_editor):
    CriteriaVersion = apps.get_model("penalties", "CriteriaVersion")
    CriteriaRow = apps.get_model("penalties", "CriteriaRow")
    PenaltyKind = apps.get_model("penalties", "PenaltyKind")
    PenaltyRuling = apps.get_model("penalties", "PenaltyRuling")
    warning = PenaltyKind.objects.filter(code="warning").first()
    if warning is None:
        return
    for version in CriteriaVersion.objects.all():
        rows = list(CriteriaRow.objects.filter(version=version))
        if len(rows) != 1 or PenaltyRuling.objects.filter(criteria_version=version).exists():
            continue
        (row,) = rows
        if not (
            row.cause_category_id is None
            and row.loss_from == 0
            and row.loss_to is None
            and row.penalty_kind.code == "minor_demerit"
        ):
            continue
        row.loss_from = NO_LOSS_BELOW
        row.save(update_fields=["loss_from"])
        CriteriaRow.objects.create(
            version=version,
            cause_category=None,
            loss_from=Decimal("0.00"),
            loss_to=NO_LOSS_BELOW,
            penalty_kind=warning,
            amount_per_unit=Decimal("0.00"),
            base_units=Decimal("1"),
            note="无损失：警告 No loss: a warning",
        )


class Migration(migrations.Migration):
    dependencies = [("penalties", "0003_immutability_triggers")]

    operations = [migrations.RunPython(split_the_default_row, migrations.RunPython.noop)]
