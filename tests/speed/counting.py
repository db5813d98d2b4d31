"""Counting what a request costs the database: every statement the connection executes, and every COMMIT."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

from django.db import connection


@dataclass
class DatabaseCost:
    statements: list[str] = field(default_factory=list)
    commits: int = 0
    autocommitted_writes: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        lines = "\n".join(f"  {sql[:160]}" for sql in self.statements)
        return f"{len(self.statements)} statements, {self.commits} commits:\n{lines}"


_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


@contextlib.contextmanager
def count_database_cost():
    """Counts the default connection's statements and COMMITs while the block runs.

    A COMMIT is an explicit `connection.commit()` (the end of an outermost atomic block) or a
    write run outside any transaction (autocommit commits it on its own).
    """
    cost = DatabaseCost()

    def record(execute, sql, params, many, context):
        cost.statements.append(sql)
        if not connection.in_atomic_block and sql.lstrip().upper().startswith(_WRITES):
            cost.autocommitted_writes.append(sql)
            cost.commits += 1
        return execute(sql, params, many, context)

    real_commit = connection.commit

    def counting_commit():
        cost.commits += 1
        return real_commit()

    connection.commit = counting_commit
    try:
        with connection.execute_wrapper(record):
            yield cost
    finally:
        del connection.commit
