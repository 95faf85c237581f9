"""Schema versions. Append only: each entry is (version, SQL script), applied in order once.

Version slots: 1 core (events, raw records, sessions, meta); 2 alerts and push;
3 control actions and audit; 4 devices, pairing and ingest tokens; 5 approvals;
6–7 ingest speed.
"""

from __future__ import annotations

import sqlite3

MIGRATIONS: list[tuple[int, str]] = [
    (1, """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE raw_records (
        id INTEGER PRIMARY KEY,
        received_at INTEGER NOT NULL,
        agent TEXT NOT NULL,
        channel TEXT NOT NULL,
        content_type TEXT NOT NULL,
        size INTEGER NOT NULL,
        body BLOB
    );
    CREATE INDEX raw_records_received ON raw_records (received_at);
    CREATE TABLE events (
        seq INTEGER PRIMARY KEY,
        ts INTEGER NOT NULL,
        received_at INTEGER NOT NULL,
        agent TEXT NOT NULL,
        session_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        name TEXT NOT NULL,
        source TEXT NOT NULL,
        tool TEXT,
        model TEXT,
        tok_input INTEGER NOT NULL DEFAULT 0,
        tok_output INTEGER NOT NULL DEFAULT 0,
        tok_cache_read INTEGER NOT NULL DEFAULT 0,
        tok_cache_write INTEGER NOT NULL DEFAULT 0,
        tok_reasoning INTEGER NOT NULL DEFAULT 0,
        cost_usd REAL NOT NULL DEFAULT 0,
        duration_ms REAL,
        status TEXT NOT NULL,
        detail TEXT NOT NULL,
        raw_ref INTEGER,
        cwd TEXT,
        project TEXT,
        branch TEXT,
        pid INTEGER,
        key TEXT
    );
    CREATE INDEX events_session ON events (session_id, seq);
    CREATE UNIQUE INDEX events_key ON events (session_id, key) WHERE key IS NOT NULL;
    CREATE INDEX events_received ON events (received_at);
    CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        agent TEXT NOT NULL,
        status TEXT NOT NULL,
        last_activity_at INTEGER NOT NULL,
        data TEXT NOT NULL
    );
    """),
    (2, """
    CREATE TABLE alerts (
        id INTEGER PRIMARY KEY,
        session_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        title TEXT NOT NULL,
        body TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        acked_at INTEGER,
        resolved_at INTEGER
    );
    CREATE INDEX alerts_created ON alerts (created_at);
    CREATE INDEX alerts_session ON alerts (session_id, created_at);
    CREATE INDEX alerts_open ON alerts (session_id, kind) WHERE resolved_at IS NULL;
    CREATE TABLE push_subscriptions (
        id INTEGER PRIMARY KEY,
        endpoint TEXT NOT NULL UNIQUE,
        p256dh TEXT NOT NULL,
        auth TEXT NOT NULL,
        kinds TEXT,
        quiet_hours TEXT,
        created_at INTEGER NOT NULL,
        last_ok_at INTEGER
    );
    """),
    (3, """
    CREATE TABLE control_actions (
        id TEXT PRIMARY KEY,
        session_id TEXT NOT NULL,
        action TEXT NOT NULL,
        who TEXT NOT NULL,
        status TEXT NOT NULL,
        detail TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        finished_at INTEGER
    );
    CREATE INDEX control_actions_session ON control_actions (session_id, created_at);
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY,
        ts INTEGER NOT NULL,
        who TEXT NOT NULL,
        client TEXT,
        action TEXT NOT NULL,
        session_id TEXT,
        pid INTEGER,
        result TEXT NOT NULL,
        action_id TEXT
    );
    CREATE INDEX audit_ts ON audit (ts);
    """),
    (4, """
    CREATE TABLE credentials (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        kind TEXT NOT NULL,
        secret_hash TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        last_used_at INTEGER,
        revoked_at INTEGER
    );
    CREATE INDEX credentials_kind ON credentials (kind, revoked_at);
    CREATE TABLE pairing_codes (
        code_hash TEXT PRIMARY KEY,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        used_at INTEGER,
        device_id TEXT
    );
    """),
    (5, """
    CREATE TABLE approvals (
        id TEXT PRIMARY KEY,
        session_id TEXT NOT NULL,
        agent TEXT NOT NULL,
        tool TEXT,
        tool_input TEXT NOT NULL,
        cwd TEXT,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        status TEXT NOT NULL,
        decided_at INTEGER,
        decided_by TEXT,
        message TEXT
    );
    CREATE INDEX approvals_created ON approvals (created_at);
    CREATE INDEX approvals_session ON approvals (session_id, created_at);
    CREATE INDEX approvals_pending ON approvals (status) WHERE status = 'pending';
    """),
    # Every stored event paid for this index; only `prune` (a maintenance command) used it.
    (6, """
    DROP INDEX events_received;
    """),
    # The same for raw records: one index page more in every commit, for `prune` alone.
    (7, """
    DROP INDEX raw_records_received;
    """),
    # A session's events by (session_id, seq): with many sessions exporting at once each new row
    # landed on another index page, ~4.7 KB of WAL per event at 100 interleaved sessions. Keyed
    # by 1,024-seq bucket first, new entries share the few pages of the current bucket (~0.7 KB
    # per event, a fifth of the server's CPU per OTLP record); reads seek once per bucket.
    (8, """
    DROP INDEX events_session;
    CREATE INDEX events_session_bucket ON events (seq >> 10, session_id);
    """),
]


def current_version(conn: sqlite3.Connection) -> int:
    exists = conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'").fetchone()
    if not exists:
        return 0
    row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
    return int(row[0]) if row else 0


def latest_version() -> int:
    return max(v for v, _ in MIGRATIONS)


def migrate(conn: sqlite3.Connection) -> int:
    """Apply every pending migration, each in its own transaction; returns the new version."""
    version = current_version(conn)
    for target, script in sorted(MIGRATIONS):
        if target <= version:
            continue
        conn.executescript(f"BEGIN;\n{script}\n"
                           f"INSERT INTO meta(key, value) VALUES('schema_version', '{target}')\n"
                           f"ON CONFLICT(key) DO UPDATE SET value=excluded.value;\nCOMMIT;")
        version = target
    return version
