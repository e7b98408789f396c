"""The response cache: validated model outputs in SQLite, keyed by everything that shapes them.

Several processes may read and write at once (WAL mode, busy timeout, one short transaction per
write). A database that cannot be opened or read is moved aside and rebuilt; a directory that
cannot be written degrades to no cache. Both say so in a warning, and neither loses a result the
caller already has.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Cache", "CacheStats", "cache_key", "default_cache_dir"]

from ..errors import ConfigurationError

log = logging.getLogger("newsqa")

# Numbered migrations: index i upgrades user_version i to i + 1.
_MIGRATIONS = (
    """CREATE TABLE responses (
        key TEXT PRIMARY KEY,
        model TEXT NOT NULL,
        value TEXT NOT NULL,
        usage TEXT NOT NULL,
        created REAL NOT NULL,
        hits INTEGER NOT NULL DEFAULT 0
    )""",
    "CREATE INDEX responses_created ON responses(created)",
    "ALTER TABLE responses ADD COLUMN logprobs TEXT",
)


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    msg = str(exc).lower()
    return "locked" in msg or "busy" in msg


def default_cache_dir() -> Path:
    env = os.environ.get("NEWSQA_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("newsqa", appauthor=False))


def cache_key(parts: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of ``parts`` (callers never put credentials in it)."""
    blob = json.dumps(parts, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


@dataclass(frozen=True)
class CacheStats:
    path: str
    entries: int
    bytes: int
    hits: int
    oldest: float | None
    newest: float | None
    enabled: bool


@dataclass(frozen=True)
class CachedResponse:
    model: str
    value: dict[str, Any]
    usage: dict[str, int]
    logprobs: Any = None  # the reply's token log-probabilities (newsqa.model.logprobs.to_json), if kept


class Cache:
    """A SQLite response cache. ``ttl`` (seconds) makes older entries misses; None keeps them forever."""

    def __init__(
        self, directory: str | Path | None = None, *, ttl: float | None = None, busy_timeout: float = 30.0
    ) -> None:
        self.directory = Path(directory) if directory is not None else default_cache_dir()
        self.path = self.directory / "responses.sqlite3"
        if ttl is None and os.environ.get("NEWSQA_CACHE_TTL"):
            raw = os.environ["NEWSQA_CACHE_TTL"]
            try:
                ttl = float(raw)
            except ValueError:
                raise ConfigurationError(f"NEWSQA_CACHE_TTL must be a number of seconds, got {raw[:40]!r}") from None
            if not ttl >= 0:
                raise ConfigurationError(f"NEWSQA_CACHE_TTL must be 0 or more seconds, got {raw[:40]!r}")
        self.ttl = ttl
        self.busy_timeout = busy_timeout
        self.enabled = True
        self._local = threading.local()
        self._lock = threading.Lock()
        self._ready = False

    # -- connection handling ----------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection | None:
        if not self.enabled:
            return None
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            conn = self._open()
        except sqlite3.OperationalError as exc:
            # Locked, busy, read-only, disk full: the file is fine, we just cannot use it right now.
            if _is_busy(exc):
                log.warning("newsqa cache busy, skipping it this time: %s", exc)
            else:
                self._disable(f"cannot open {self.path}: {exc}")
            return None
        except sqlite3.DatabaseError as exc:
            conn = self._rebuild(exc)
        except OSError as exc:
            self._disable(f"cannot use cache directory {self.directory}: {exc.strerror or exc}")
            return None
        self._local.conn = conn
        return conn

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None, check_same_thread=False)
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
            with self._lock:
                if not self._ready:
                    conn.execute("PRAGMA journal_mode = WAL")
                    self._migrate(conn)
                    self._ready = True
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("SELECT count(*) FROM responses LIMIT 1").fetchone()
        except BaseException:
            conn.close()
            raise
        return conn

    def _migrate(self, conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            for i in range(version, len(_MIGRATIONS)):
                conn.execute(_MIGRATIONS[i])
            conn.execute(f"PRAGMA user_version = {len(_MIGRATIONS)}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def _rebuild(self, exc: Exception) -> sqlite3.Connection | None:
        if isinstance(exc, sqlite3.OperationalError):
            self._disable(str(exc))
            return None
        aside = self.path.with_name(f"{self.path.name}.corrupt-{int(time.time())}")
        log.warning("newsqa cache %s is unreadable (%s); moved it to %s and started a new one", self.path, exc, aside)
        try:
            for suffix in ("", "-wal", "-shm"):
                p = Path(str(self.path) + suffix)
                if p.exists():
                    p.rename(Path(str(aside) + suffix))
            self._ready = False
            return self._open()
        except (OSError, sqlite3.DatabaseError) as exc2:
            self._disable(f"cannot rebuild cache {self.path}: {exc2}")
            return None

    def _drop_connection(self) -> None:
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            conn.close()

    def _disable(self, why: str) -> None:
        if self.enabled:
            log.warning("newsqa cache disabled: %s", why)
        self.enabled = False

    # -- API --------------------------------------------------------------------------------------
    def get(self, key: str) -> CachedResponse | None:
        conn = self._connect()
        if conn is None:
            return None
        try:
            row = conn.execute(
                "SELECT model, value, usage, created, logprobs FROM responses WHERE key = ?", (key,)
            ).fetchone()
            if row is None:
                return None
            if self.ttl is not None and time.time() - row[3] > self.ttl:
                return None
            conn.execute("UPDATE responses SET hits = hits + 1 WHERE key = ?", (key,))
            return CachedResponse(
                row[0], json.loads(row[1]), json.loads(row[2]), json.loads(row[4]) if row[4] else None
            )
        except sqlite3.OperationalError as exc:
            log.warning("newsqa cache lookup skipped: %s", exc)
            return None
        except sqlite3.DatabaseError as exc:
            self._drop_connection()
            self._rebuild(exc)
            return None
        except ValueError:  # a row that does not parse is a miss, and will be overwritten
            return None

    def set(self, key: str, model: str, value: dict[str, Any], usage: dict[str, int], *, logprobs: Any = None) -> None:
        conn = self._connect()
        if conn is None:
            return
        kept = json.dumps(logprobs, ensure_ascii=False) if logprobs is not None else None
        try:
            conn.execute(
                "INSERT OR REPLACE INTO responses (key, model, value, usage, created, logprobs)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (key, model, json.dumps(value, ensure_ascii=False), json.dumps(usage), time.time(), kept),
            )
        except sqlite3.OperationalError as exc:
            if _is_busy(exc):
                log.warning("newsqa cache busy, result not stored: %s", exc)
            else:
                # A full disk or a read-only file: keep answering, without the cache.
                self._disable(f"cannot write to {self.path}: {exc}")
        except sqlite3.DatabaseError as exc:
            self._drop_connection()
            self._rebuild(exc)

    def stats(self) -> CacheStats:
        conn = self._connect()
        if conn is None:
            return CacheStats(str(self.path), 0, 0, 0, None, None, False)
        n, hits, lo, hi = conn.execute(
            "SELECT count(*), coalesce(sum(hits), 0), min(created), max(created) FROM responses"
        ).fetchone()
        size = sum(p.stat().st_size for p in self.directory.glob(self.path.name + "*") if p.is_file())
        return CacheStats(str(self.path), n, size, hits, lo, hi, True)

    def clear(self, *, older_than: float | None = None) -> int:
        conn = self._connect()
        if conn is None:
            return 0
        if older_than is None:
            cur = conn.execute("DELETE FROM responses")
        else:
            cur = conn.execute("DELETE FROM responses WHERE created < ?", (time.time() - older_than,))
        conn.execute("VACUUM")
        return cur.rowcount

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
