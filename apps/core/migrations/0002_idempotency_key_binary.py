"""Idempotency keys compare byte for byte (API.md: `ABC` and `abc` are different keys).

MySQL/MariaDB compare text with the table's case- and accent-insensitive collation, so the key
column gets a binary one. SQLite and PostgreSQL already compare bytes. Rows left "in progress" by
requests that died before this version are dropped: keys are now recorded with their work, so an
in-progress row would only block its key.
"""

from django.db import migrations

_COLUMN = "ALTER TABLE core_idempotencykey MODIFY `key` varchar(255) CHARACTER SET utf8mb4 COLLATE {collation} NOT NULL"


def _set_collation(collation):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "mysql":
            schema_editor.execute(_COLUMN.format(collation=collation))

    return run


def drop_abandoned_claims(apps, schema_editor):
    apps.get_model("core", "IdempotencyKey").objects.filter(status="in_progress").delete()


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]

    operations = [
        migrations.RunPython(_set_collation("utf8mb4_bin"), _set_collation("utf8mb4_unicode_ci"), atomic=False),
        migrations.RunPython(drop_abandoned_claims, migrations.RunPython.noop),
    ]
