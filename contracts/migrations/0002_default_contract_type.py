from django.db import migrations

# Clause 二十: the expiry notice goes out one month before the contract expires.
# A default only: administrators edit this row (and add types) in the admin site.
DEFAULT_TYPES = [
    ("standard", "标准保养合同 Standard maintenance", 1, 0, 14),
]


def create_default_types(apps, schema_editor):
    ContractType = apps.get_model("contracts", "ContractType")
    for code, name, months, days, follow_up_days in DEFAULT_TYPES:
        ContractType.objects.get_or_create(
            code=code,
            defaults={"name": name, "notice_months": months, "notice_days": days, "follow_up_days": follow_up_days},
        )


class Migration(migrations.Migration):
    dependencies = [("contracts", "0001_initial")]

    operations = [migrations.RunPython(create_default_types, migrations.RunPython.noop)]
