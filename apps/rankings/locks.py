"""The rebuild gate: consumer transactions share it, a rebuild takes it alone (ascending order is moot: one row)."""

from django.db import connection

from apps.rankings.models import RebuildGate

GATE = "rankings"


def _lock_gate(mode: str) -> None:
    if connection.vendor != "mysql":
        return  # SQLite (the embedded default) serialises writers anyway
    table = connection.ops.quote_name(RebuildGate._meta.db_table)
    sql = f"SELECT name FROM {table} WHERE name = %s {mode}"
    with connection.cursor() as cursor:
        cursor.execute(sql, [GATE])
        if cursor.fetchone() is None:
            RebuildGate.objects.bulk_create([RebuildGate(name=GATE)], ignore_conflicts=True)
            cursor.execute(sql, [GATE])


def share_rebuild_gate() -> None:
    """Inside a consumer transaction: wait while a rebuild runs; never blocks another consumer."""
    _lock_gate("LOCK IN SHARE MODE")


def take_rebuild_gate() -> None:
    """Inside the rebuild transaction: wait for running consumer transactions, hold new ones back until commit."""
    _lock_gate("FOR UPDATE")
