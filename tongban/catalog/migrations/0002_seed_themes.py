"""Seed the life events and enterprise stages that service items are browsed by."""

from django.db import migrations

THEMES = [
    ("birth", "出生", "life_event"),
    ("schooling", "上学", "life_event"),
    ("employment", "就业", "life_event"),
    ("marriage-childbirth", "婚育", "life_event"),
    ("housing", "住房", "life_event"),
    ("retirement", "退休", "life_event"),
    ("after-death", "身后", "life_event"),
    ("start-up", "开办", "enterprise_stage"),
    ("operation", "经营", "enterprise_stage"),
    ("change", "变更", "enterprise_stage"),
    ("closure", "注销", "enterprise_stage"),
]


def seed(apps, schema_editor):
    Theme = apps.get_model("catalog", "Theme")
    for order, (code, name, kind) in enumerate(THEMES):
        Theme.objects.update_or_create(code=code, defaults={"name": name, "kind": kind, "sort_order": order})


def unseed(apps, schema_editor):
    Theme = apps.get_model("catalog", "Theme")
    Theme.objects.filter(code__in=[code for code, _, _ in THEMES]).delete()


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_service_items")]

    operations = [migrations.RunPython(seed, unseed)]
