"""The optuna storage a shared sizing study lives in, safe for several workers at once.

optuna claims a queued trial by reading it as WAITING and then marking it RUNNING, inside a
`SELECT ... FOR UPDATE`. SQLite has no row locks and Python's sqlite3 driver opens the
transaction only at the first write, so two workers can both claim the same queued trial.
Both run it, and the second one's `tell` then fails with "Cannot tell a COMPLETE trial"
(optuna issues #4002 and #4621). For SQLite URLs every transaction therefore starts with
`BEGIN IMMEDIATE`. That takes the database's write lock at the start, so claims are
serialised. PostgreSQL and MySQL honour `FOR UPDATE` and are passed through unchanged."""

from typing import Any

SQLITE_BUSY_TIMEOUT_S = 60.0  # a worker waits this long for another's short transaction


def open_storage(url: str) -> Any:
    """An optuna storage for `url`; SQLite URLs get serialised transactions (see above)."""
    if not url.startswith("sqlite"):
        return url
    from optuna.storages import RDBStorage
    from sqlalchemy import event

    storage = RDBStorage(url, engine_kwargs={"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_S}})
    engine = storage.engine

    @event.listens_for(engine, "connect")
    def _driver_leaves_transactions_to_us(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _take_the_write_lock_first(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    engine.dispose()  # connections opened while creating the schema predate the listeners
    return storage
