"""Durable outbox: an event is written before it is sent and deleted only after the sink
acknowledges it. SQLite in WAL mode survives restarts; the bound and its overflow policy are
explicit and every drop is counted."""

import sqlite3
import threading
import time
from pathlib import Path

from edgeplan.agent.events import Event


class Outbox:
    def __init__(self, path: Path, max_events: int, overflow: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
            " event_id TEXT UNIQUE, created REAL, attempts INTEGER DEFAULT 0,"
            " next_try REAL DEFAULT 0, body TEXT)"
        )
        self._lock = threading.Lock()
        self.max_events, self.overflow = max_events, overflow
        self.dropped = 0
        # the depth is counted once, then kept: COUNT(*) scans the table, and a backlog of
        # 100,000 events (a long broker outage) would make every insert slower
        self._depth = self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]

    def put(self, event: Event) -> bool:
        """Store an event; False when the overflow policy dropped it (or made room by dropping)."""
        with self._lock:
            if self._depth >= self.max_events:
                self.dropped += 1
                if self.overflow == "drop-newest":
                    return False
                cur = self._db.execute(
                    "DELETE FROM outbox WHERE seq = (SELECT MIN(seq) FROM outbox)"
                )
                self._depth -= cur.rowcount
            cur = self._db.execute(
                "INSERT OR IGNORE INTO outbox(event_id, created, body) VALUES (?,?,?)",
                (event.event_id, event.ts_unix, event.to_json()),
            )
            self._depth += cur.rowcount
            return True

    def due(self, limit: int = 50) -> list[tuple[int, str]]:
        """(seq, json body) of the oldest undelivered events, oldest first. The dispatcher
        retries the head of the queue before anything newer (one backoff for the outbox, not
        one per event), so events arrive in the order they were made."""
        with self._lock:
            return self._db.execute(
                "SELECT seq, body FROM outbox ORDER BY seq LIMIT ?", (limit,)
            ).fetchall()

    def ack(self, seq: int) -> None:
        with self._lock:
            cur = self._db.execute("DELETE FROM outbox WHERE seq = ?", (seq,))
            self._depth -= cur.rowcount

    def failed(self, seq: int) -> None:
        """Count a failed delivery attempt of the event (for the record; order is kept)."""
        with self._lock:
            self._db.execute("UPDATE outbox SET attempts = attempts + 1 WHERE seq = ?", (seq,))

    def depth(self) -> int:
        return self._depth

    def oldest_age_s(self) -> float:
        with self._lock:  # the head of the queue, by its primary key (no scan)
            row = self._db.execute("SELECT created FROM outbox ORDER BY seq LIMIT 1").fetchone()
        return time.time() - row[0] if row and row[0] else 0.0

    def close(self) -> None:
        self._db.close()
