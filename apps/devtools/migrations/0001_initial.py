"""The development receiver's table, moved here from apps.outbox (outbox 0003 drops the old one).

Rows already received in development are copied over, ids and all, while the old table is still
there (`migrate` plans this migration before outbox 0003). Unapplying copies them back when outbox
0003 was unapplied first. No `run_before` on outbox 0003: a database migrated without this app
(production settings) and later with it would then fail Django's migration-history check.
"""

import django.utils.timezone
from django.db import migrations, models

COPY_CHUNK = 1000
FIELDS = ["id", "event_id", "type", "occurred_at", "data", "request_id", "received_at"]


def _copy(source, target) -> None:
    last_id = 0
    while True:
        rows = list(source.objects.filter(pk__gt=last_id).order_by("pk").values(*FIELDS)[:COPY_CHUNK])
        if not rows:
            return
        target.objects.bulk_create([target(**row) for row in rows])
        last_id = rows[-1]["id"]


def _outbox_model(apps, schema_editor):
    """The old outbox model, or None once outbox 0003 has dropped it."""
    try:
        model = apps.get_model("outbox", "DevReceivedEvent")
    except LookupError:
        return None
    if model._meta.db_table not in schema_editor.connection.introspection.table_names():
        return None
    return model


def copy_from_outbox(apps, schema_editor):
    old = _outbox_model(apps, schema_editor)
    if old is not None:
        _copy(old, apps.get_model("devtools", "DevReceivedEvent"))


def copy_back_to_outbox(apps, schema_editor):
    old = _outbox_model(apps, schema_editor)
    if old is not None and not old.objects.exists():
        _copy(apps.get_model("devtools", "DevReceivedEvent"), old)


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('outbox', '0002_dev_received_event'),
    ]

    operations = [
        migrations.CreateModel(
            name='DevReceivedEvent',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('event_id', models.UUIDField(db_index=True)),
                ('type', models.CharField(max_length=100)),
                ('occurred_at', models.DateTimeField(blank=True, null=True)),
                ('data', models.JSONField(default=dict)),
                ('request_id', models.CharField(blank=True, max_length=128)),
                ('received_at', models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={
                'verbose_name': 'event received in development',
                'verbose_name_plural': 'events received in development',
                'ordering': ['-id'],
            },
        ),
        migrations.RunPython(copy_from_outbox, copy_back_to_outbox),
    ]
