import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    """Every fee was collected on a voucher: 0007 filled the column for the existing rows."""

    dependencies = [
        ("repairs", "0008_fee_adjustments"),
    ]

    operations = [
        migrations.AlterField(
            model_name="feecollection",
            name="collected_on",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="repairs.servicevoucher",
                verbose_name="collected on voucher",
            ),
        ),
    ]
