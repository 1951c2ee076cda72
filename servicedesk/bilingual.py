"""Reference data written once as one bilingual string ("市区 Urban") is split into its two languages.

The first releases named default rows that way (zones, contract types, causes, penalty kinds, demo units);
the data migrations that add ``name_en`` split those rows with ``split_bilingual``. A name that is not such a
pair is left as it is.
"""

import re

# Chinese first (with the punctuation and digits a Chinese name may hold), then one space, then English.
_PAIR = re.compile(r"^(?P<zh>[^\x00-\x7f][^A-Za-z]*?)\s+(?P<en>[A-Za-z][\x20-\x7e]*)$")


def split_bilingual(name: str) -> tuple[str, str]:
    """(Chinese, English) of "市区 Urban"; (name, "") when the name is not such a pair."""
    match = _PAIR.match((name or "").strip())
    if not match:
        return name, ""
    return match["zh"].strip(), match["en"].strip()


def split_names_migration(*labels: str):
    """A RunPython function splitting the bilingual names of the models ``app_label.Model``."""

    def forwards(apps, schema_editor):
        for label in labels:
            model = apps.get_model(label)
            for row in model.objects.filter(name_en=""):
                zh, en = split_bilingual(row.name)
                if en:
                    row.name, row.name_en = zh, en
                    row.save(update_fields=["name", "name_en"])

    return forwards
