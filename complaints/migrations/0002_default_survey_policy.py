from django.db import migrations


def create_default(apps, schema_editor):
    SurveyPolicy = apps.get_model("complaints", "SurveyPolicy")
    # The private link works for 30 days after the card is issued, unless a unit has its own row.
    if not SurveyPolicy.objects.filter(unit__isnull=True).exists():
        SurveyPolicy.objects.create(unit=None, link_valid_days=30)


class Migration(migrations.Migration):
    dependencies = [("complaints", "0001_initial")]

    operations = [migrations.RunPython(create_default, migrations.RunPython.noop)]
