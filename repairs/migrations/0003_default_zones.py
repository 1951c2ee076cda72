from decimal import Decimal

from django.db import migrations

# Clause 十九: six hours in urban areas, seven in suburban ones. Defaults only:
# administrators edit these rows (and add zones) in the admin site.
DEFAULT_ZONES = [
    ("urban", "市区 Urban", Decimal("6")),
    ("suburban", "郊区 Suburban", Decimal("7")),
]


def create_default_zones(apps, schema_editor):
    Zone = apps.get_model("repairs", "Zone")
    for code, name, hours in DEFAULT_ZONES:
        Zone.objects.get_or_create(code=code, defaults={"name": name, "response_hours": hours})


class Migration(migrations.Migration):
    dependencies = [("repairs", "0002_initial")]

    operations = [migrations.RunPython(create_default_zones, migrations.RunPython.noop)]
