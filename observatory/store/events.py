"""SQL for events, raw records and session rows. Write functions run as the writer's jobs."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import zlib
from dataclasses import dataclass
from typing import Any

from observatory.jsontext import compact
from observatory.model import Event, Kind, Session, SessionStatus, Source, Tokens


@dataclass(slots=True)
class Raw:
    """One request body as received, kept so history can be re-normalised."""

    received_at: int
    agent: str
    channel: str  # "otlp-logs", "hook:claude", …
    content_type: str
    body: bytes
    deflated: bytes | None = None  # compress(body), when the decode worker did it already


# Python's sqlite3 binds None through its adapter protocol (a tuple, a dict lookup and two
# attribute lookups: ~0.4 µs), against ~0.1 µs for a str or an int. An OTLP record leaves six
# or seven columns empty, so absent values travel as '' (text), 0 (pid, raw_ref: never real)
# or NaN (duration_ms: SQLite stores a NaN as NULL), and NULLIF turns them back into NULL.
_ROW_COLUMNS = ("ts, received_at, agent, session_id, kind, name, source, tool, model, tok_input, tok_output, "
                "tok_cache_read, tok_cache_write, tok_reasoning, cost_usd, duration_ms, status, detail, "
                "cwd, project, branch, pid, key")  # an event_row, in order
_INSERT = f"""INSERT OR IGNORE INTO events ({_ROW_COLUMNS}, raw_ref)
    VALUES (?,?,?,?,?,?,?,NULLIF(?,''),NULLIF(?,''),?,?,?,?,?,?,?,?,?,
            NULLIF(?,''),NULLIF(?,''),NULLIF(?,''),NULLIF(?,0),NULLIF(?,''),NULLIF(?,0))"""
_NAN = float("nan")

_MERGE = """UPDATE events SET duration_ms = COALESCE(duration_ms, ?), detail = json_patch(?, detail),
    model = COALESCE(model, ?) WHERE session_id = ? AND key = ?"""


STORE_PLAIN_BELOW = 4096


def compress(body: bytes) -> bytes:
    """A zlib stream of the body, which any zlib reader inflates.

    Below 4 KiB the stream is stored, not deflated (level 0): for a hook's or a one-record
    export's few hundred bytes, deflating cost 30-100 µs (mostly setting up and tearing down
    its state), more than the rest of the write, to save a few hundred bytes. Larger bodies
    deflate at level 1 with a window and memory level sized to the body.
    """
    if len(body) < STORE_PLAIN_BELOW:
        deflate = zlib.compressobj(0, zlib.DEFLATED, 9, 1)
    else:
        wbits = min(15, (len(body) - 1).bit_length())
        deflate = zlib.compressobj(1, zlib.DEFLATED, wbits, max(1, min(8, wbits - 7)))
    return deflate.compress(body) + deflate.flush()


def event_row(ev: Event, received_at: int) -> tuple[Any, ...]:
    """An event's `_INSERT` values but its raw_ref (absent ones as `_INSERT` takes them): the
    decode worker computes them for the writer (a tenth of the server's time per OTLP record
    when the writer did)."""
    t = ev.tokens
    duration = ev.duration_ms
    return (ev.ts, ev.received_at or received_at, ev.agent, ev.session_id, ev.kind._value_, ev.name,
            ev.source._value_, ev.tool or "", ev.model or "", t.input, t.output, t.cache_read, t.cache_write,
            t.reasoning, ev.cost_usd, _NAN if duration is None else duration, ev.status, compact(ev.detail),
            ev.cwd or "", ev.project or "", ev.branch or "", ev.pid or 0, ev.key or "")


_KINDS: dict[str, Kind] = Kind._value2member_map_  # type: ignore[assignment]
_SOURCES: dict[str, Source] = Source._value2member_map_  # type: ignore[assignment]


def row_event(r: tuple[Any, ...], detail: dict[str, Any]) -> Event:
    """The Event an `event_row` (or a stored row in that order) was made from, given its
    detail, which is not decoded again from the row's JSON. The decode worker sends rows, not
    events: pickling both cost it 2.4 µs per record, and the server as much again to unpickle them."""
    return Event(r[2], r[3], _KINDS[r[4]], _SOURCES[r[6]], r[0], r[1], 0, r[7] or None, r[8] or None,
                 Tokens(r[9], r[10], r[11], r[12], r[13]), r[14], None if r[15] != r[15] else r[15], r[16],
                 detail, None, r[18] or None, r[19] or None, r[20] or None, r[21] or None, r[22] or None, r[5])


_RECEIVED_AT, _DETAIL = 1, 17  # positions in event_row


def insert_events(conn: sqlite3.Connection, events: list[Event], raw: Raw | None,
                  raw_max_bytes: int, rows: list[tuple[Any, ...]] | None = None) -> list[Event]:
    """Insert events (and their raw body, kept up to `raw_max_bytes`); returns the newly stored
    ones with seq set. `rows` are the events' `event_row`s when computed already.

    An event whose dedupe key is already stored for its session is merged into the stored
    row (missing fields filled in) and not returned: the same fact is never counted twice.
    """
    raw_ref = None
    received_at = 0
    if raw is not None:
        received_at = raw.received_at
        kept = None
        if len(raw.body) <= raw_max_bytes:
            kept = raw.deflated if raw.deflated is not None else compress(raw.body)
        cur = conn.execute(
            "INSERT INTO raw_records (received_at, agent, channel, content_type, size, body) VALUES (?,?,?,?,?,?)",
            (raw.received_at, raw.agent, raw.channel, raw.content_type, len(raw.body), kept))
        raw_ref = cur.lastrowid
    if rows is None:
        rows = [event_row(ev, received_at) for ev in events]
    if not rows:
        return []
    if len(rows) == 1:  # a hook's or a one-record export's: the cursor knows the new seq
        cur = conn.execute(_INSERT, (*rows[0], raw_ref or 0))
        inserted, last = cur.rowcount, cur.lastrowid
    else:
        inserted = conn.executemany(_INSERT, [(*row, raw_ref or 0) for row in rows]).rowcount  # a tenth of the per-row cost
        last = conn.execute("SELECT last_insert_rowid()").fetchone()[0] if inserted else 0
    if inserted == len(rows):  # the usual case: new rows take consecutive seqs, in order
        return [ev.stamp(seq, row[_RECEIVED_AT], raw_ref)
                for seq, ev, row in zip(range(last - inserted + 1, last + 1), events, rows)]
    # Some were already stored: the inserted rows are the last `inserted` seqs, in event order.
    new = conn.execute("SELECT seq, session_id, key FROM events WHERE seq > ? ORDER BY seq",
                       (last - inserted,)).fetchall() if inserted else []
    stored: list[Event] = []
    for ev, row in zip(events, rows):
        if len(stored) < len(new) and new[len(stored)][1:] == (ev.session_id, ev.key):
            stored.append(ev.stamp(new[len(stored)][0], row[_RECEIVED_AT], raw_ref))
        else:
            conn.execute(_MERGE, (ev.duration_ms, row[_DETAIL], ev.model, ev.session_id, ev.key))
    return stored


_COLUMNS = f"seq, raw_ref, {_ROW_COLUMNS}"


def _row_to_event(r: tuple[Any, ...]) -> Event:
    row = r[2:]
    return row_event(row, json.loads(row[_DETAIL])).stamp(r[0], row[_RECEIVED_AT], r[1])


BUCKET_BITS = 10  # events_session_bucket is on (seq >> 10, session_id): see migration 8
_SESSION_PAGE = (f"SELECT {_COLUMNS} FROM events WHERE seq >> {BUCKET_BITS} = ? AND session_id = ? AND seq > ? "
                 "ORDER BY seq LIMIT ?")


def session_events(conn: sqlite3.Connection, session_id: str, after: int, limit: int,
                    upto: int | None = None) -> list[Event]:
    """The session's events after seq `after` (and up to `upto`, its last one, when known), in
    seq order: one index seek per 1,024 seqs of history, a millisecond per ~100,000 events."""
    last = last_seq(conn) if upto is None else upto
    rows: list[tuple[Any, ...]] = []
    bucket = (after + 1) >> BUCKET_BITS
    while len(rows) < limit and bucket <= last >> BUCKET_BITS:
        rows += conn.execute(_SESSION_PAGE, (bucket, session_id, after, limit - len(rows))).fetchall()
        bucket += 1
    return [_row_to_event(r) for r in rows]


def events_after(conn: sqlite3.Connection, after: int, upto: int, limit: int) -> list[Event]:
    rows = conn.execute(f"SELECT {_COLUMNS} FROM events WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?",
                        (after, upto, limit)).fetchall()
    return [_row_to_event(r) for r in rows]


def last_seq(conn: sqlite3.Connection) -> int:
    return conn.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0]


def raw_body(conn: sqlite3.Connection, raw_id: int) -> tuple[str, bytes | None] | None:
    row = conn.execute("SELECT content_type, body FROM raw_records WHERE id = ?", (raw_id,)).fetchone()
    if row is None:
        return None
    return row[0], zlib.decompress(row[1]) if row[1] is not None else None


def costs_by_day(conn: sqlite3.Connection, since_ns: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        """SELECT date(ts / 1000000000, 'unixepoch') AS day, COALESCE(model, '?'), SUM(tok_input), SUM(tok_output),
                  SUM(tok_cache_read), SUM(tok_cache_write), SUM(tok_reasoning), SUM(cost_usd)
           FROM events WHERE kind = 'api_request' AND ts >= ? GROUP BY day, model ORDER BY day, model""",
        (since_ns,)).fetchall()
    keys = ("day", "model", "input", "output", "cache_read", "cache_write", "reasoning", "cost_usd")
    return [dict(zip(keys, r)) for r in rows]


def save_sessions(conn: sqlite3.Connection, sessions: list[dict[str, Any]], applied_seq: int) -> None:
    conn.executemany(
        """INSERT INTO sessions (id, agent, status, last_activity_at, data) VALUES (?,?,?,?,?)
           ON CONFLICT(id) DO UPDATE SET status=excluded.status, last_activity_at=excluded.last_activity_at,
           data=excluded.data""",
        [(s["id"], s["agent"], s["status"], s["last_activity_at"], json.dumps(s)) for s in sessions])
    conn.execute("INSERT INTO meta(key, value) VALUES('sessions_seq', ?) "
                 "ON CONFLICT(key) DO UPDATE SET value=excluded.value", (str(applied_seq),))


_SESSION_FIELDS = tuple(f.name for f in dataclasses.fields(Session))


def session_to_row(s: Session) -> dict[str, Any]:
    row = {name: getattr(s, name) for name in _SESSION_FIELDS}
    row["status"] = s.status.value
    row["tokens"] = s.tokens.to_dict()
    return row


def load_sessions(conn: sqlite3.Connection) -> tuple[list[Session], int]:
    """Saved sessions and the seq they include; events after it are replayed at start."""
    sessions = []
    for (data,) in conn.execute("SELECT data FROM sessions"):
        d = json.loads(data)
        d["status"] = SessionStatus(d["status"])
        d["tokens"] = Tokens(**d["tokens"])
        sessions.append(Session(**{k: v for k, v in d.items() if k in _SESSION_FIELDS}))
    row = conn.execute("SELECT value FROM meta WHERE key='sessions_seq'").fetchone()
    return sessions, int(row[0]) if row else 0


def prune(conn: sqlite3.Connection, before_ns: int) -> dict[str, int]:
    """Delete events and raw records received before `before_ns`, and sessions idle since."""
    ev = conn.execute("DELETE FROM events WHERE received_at < ?", (before_ns,)).rowcount
    raw = conn.execute("DELETE FROM raw_records WHERE received_at < ?", (before_ns,)).rowcount
    ses = conn.execute("DELETE FROM sessions WHERE last_activity_at < ? AND status IN ('ended', 'crashed')",
                       (before_ns,)).rowcount
    return {"events": ev, "raw_records": raw, "sessions": ses}


def counts(conn: sqlite3.Connection) -> dict[str, int]:
    return {
        "events": conn.execute("SELECT COUNT(*) FROM events").fetchone()[0],
        "raw_records": conn.execute("SELECT COUNT(*) FROM raw_records").fetchone()[0],
    }
