"""Notices rendered when delivered: a kind and the object they are about; the text may be blank until sent."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("servicedesk", "0004_admin_log_append_only"),
    ]

    operations = [
        migrations.AddField(
            model_name="notification",
            name="kind",
            field=models.CharField(blank=True, db_default="", default="", max_length=64, verbose_name="kind"),
        ),
        migrations.AddField(
            model_name="notification",
            name="object_id",
            field=models.PositiveBigIntegerField(blank=True, null=True, verbose_name="about object"),
        ),
        migrations.AlterField(
            model_name="notification",
            name="body",
            field=models.TextField(blank=True, verbose_name="body"),
        ),
        migrations.AlterField(
            model_name="notification",
            name="subject",
            field=models.CharField(blank=True, max_length=200, verbose_name="subject"),
        ),
    ]
