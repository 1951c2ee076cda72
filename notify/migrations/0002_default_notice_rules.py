"""The standard's alerts as rows an administrator edits (DOMAIN 6: the deputy GM at once; clause 二十八, 十四)."""

from django.db import migrations

DEFAULT_RULES = [
    # (role, topic, by e-mail, by SMS)
    ("deputy_gm", "complaint-serious", True, True),
    ("supervisor", "complaint-follow-up", True, False),
    ("supervisor", "repair-card-late", True, True),
    ("supervisor", "repair-call-overdue", True, False),
    ("supervisor", "repair-card-delay-reported", True, False),
    ("technician", "repair-call-dispatched", True, True),
]


def add_rules(apps, schema_editor):
    NoticeRule = apps.get_model("notify", "NoticeRule")
    for role, topic, by_email, by_sms in DEFAULT_RULES:
        NoticeRule.objects.get_or_create(role=role, topic=topic, defaults={"by_email": by_email, "by_sms": by_sms})


class Migration(migrations.Migration):
    dependencies = [("notify", "0001_initial")]

    operations = [migrations.RunPython(add_rules, migrations.RunPython.noop)]
