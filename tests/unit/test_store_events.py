"""Events and raw records on a real SQLite file: compression, migrations, `observatory prune`."""

import json
import sqlite3
import subprocess
import sys
import zlib
from pathlib import Path

from observatory.model import Event, Kind, Source, now_ns
from observatory.store import events as sql
from observatory.store.db import connect
from observatory.store.migrations import MIGRATIONS, latest_version, migrate

DAY_NS = 86400 * 10**9


def _event(session_id: str, received_at: int) -> Event:
    return Event("claude", session_id, Kind.TOOL_END, Source.HOOK, ts=received_at, received_at=received_at,
                 tool="Bash", name="PostToolUse")


def _store(conn: sqlite3.Connection, session_id: str, received_at: int, body: bytes) -> list[Event]:
    conn.execute("BEGIN")
    raw = sql.Raw(received_at, "claude", "hook:claude", "application/json", body)
    stored = sql.insert_events(conn, [_event(session_id, received_at)], raw, 1 << 20)
    conn.execute("COMMIT")
    return stored


def test_raw_bodies_of_any_size_come_back_byte_for_byte(tmp_path: Path) -> None:
    conn = connect(tmp_path / "o.db")
    migrate(conn)
    small = b'{"hook_event_name":"Stop"}'
    large = b"".join(b'{"n":%d,"text":"some repeated agent output"},' % i for i in range(5000))
    for body in (b"", small, large):
        (ev,) = _store(conn, "s", 1, body)
        assert sql.raw_body(conn, ev.raw_ref) == ("application/json", body)
    stored = [len(b) for (b,) in conn.execute("SELECT body FROM raw_records ORDER BY id")]
    assert stored[1] <= len(small) + 16  # a small body is framed, not deflated
    assert stored[2] < len(large) / 10  # a large one is deflated
    assert zlib.decompress(sql.compress(small)) == small


def test_migrations_bring_an_old_file_to_the_latest_version_once(tmp_path: Path) -> None:
    conn = connect(tmp_path / "o.db")
    for version, script in MIGRATIONS[:-1]:  # a file written by the previous release
        conn.executescript(f"BEGIN;\n{script}\nCOMMIT;")
    conn.execute("INSERT INTO meta(key, value) VALUES('schema_version', ?)", (str(MIGRATIONS[-2][0]),))
    _store(conn, "kept", 5, b"{}")
    assert migrate(conn) == latest_version()
    assert migrate(conn) == latest_version()
    assert [sid for (sid,) in conn.execute("SELECT session_id FROM events")] == ["kept"]
    indexes = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert "events_session_bucket" in indexes and "events_session" not in indexes


def test_a_sessions_events_page_in_order_across_index_buckets(tmp_path: Path) -> None:
    conn = connect(tmp_path / "o.db")
    migrate(conn)
    sessions = ["a", "b", "c"]
    conn.execute("BEGIN")
    for start in range(0, 3000, 100):  # three sessions interleaved, as parallel agents export
        sql.insert_events(conn, [_event(sessions[i % 3], i) for i in range(start, start + 100)], None, 0)
    conn.execute("COMMIT")
    assert sql.last_seq(conn) == 3000 > 2 << sql.BUCKET_BITS
    expected = [seq for (seq,) in conn.execute("SELECT seq FROM events WHERE session_id = 'b' ORDER BY seq")]
    for upto in (None, expected[-1]):
        pages, after = [], 0
        while page := sql.session_events(conn, "b", after, 7, upto):
            pages.append([ev.seq for ev in page])
            after = page[-1].seq
        assert [seq for page in pages for seq in page] == expected and all(len(p) == 7 for p in pages[:-1])
    assert [ev.session_id for ev in sql.session_events(conn, "c", 1020, 3)] == ["c"] * 3
    assert sql.session_events(conn, "nobody", 0, 10) == []
    plan = " ".join(row[-1] for row in conn.execute("EXPLAIN QUERY PLAN " + sql._SESSION_PAGE, (1, "b", 0, 7)))
    assert "INDEX events_session_bucket" in plan, plan


def test_prune_command_deletes_only_what_is_older(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    conn = connect(data / "observatory.db")
    migrate(conn)
    now = now_ns()
    _store(conn, "old", now - 40 * DAY_NS, b'{"old":1}')
    _store(conn, "new", now - 1 * DAY_NS, b'{"new":1}')
    conn.close()
    out = subprocess.run([sys.executable, "-m", "observatory", "prune", "--older-than", "30d",
                          "--data-dir", str(data)], capture_output=True, text=True, check=True).stdout
    assert "1 events" in out and "1 raw_records" in out
    conn = connect(data / "observatory.db")
    assert [sid for (sid,) in conn.execute("SELECT session_id FROM events")] == ["new"]
    assert [b for (b,) in conn.execute("SELECT body FROM raw_records")] == [sql.compress(b'{"new":1}')]


def test_a_batch_with_facts_already_stored_returns_only_new_events_with_their_own_seqs(tmp_path: Path) -> None:
    """Stored once, merged after: a fact already stored (or twice in one batch) is not returned,
    and every returned event carries the seq its row got."""
    conn = connect(tmp_path / "o.db")
    migrate(conn)

    def keyed(sid: str, key: str | None, detail: dict) -> Event:
        return Event("claude", sid, Kind.TOOL_END, Source.OTLP_LOG, ts=1, tool="Bash", key=key, detail=detail,
                     name="claude_code.tool_result")

    conn.execute("BEGIN")
    first = sql.insert_events(conn, [keyed("s", "tool_end:1", {"a": 1}), keyed("s", None, {})], None, 0)
    batch = [keyed("s", None, {"n": 1}), keyed("s", "tool_end:1", {"b": 2}), keyed("t", "tool_end:1", {}),
             keyed("s", "tool_end:2", {}), keyed("s", "tool_end:2", {"c": 3}), keyed("s", None, {"n": 2})]
    stored = sql.insert_events(conn, batch, None, 0)
    conn.execute("COMMIT")
    assert [ev.seq for ev in first] == [1, 2]
    assert [(ev.session_id, ev.key, ev.seq) for ev in stored] == [
        ("s", None, 3), ("t", "tool_end:1", 4), ("s", "tool_end:2", 5), ("s", None, 6)]
    rows = {seq: (sid, key, json.loads(detail)) for seq, sid, key, detail in
            conn.execute("SELECT seq, session_id, key, detail FROM events")}
    assert rows == {1: ("s", "tool_end:1", {"a": 1, "b": 2}), 2: ("s", None, {}), 3: ("s", None, {"n": 1}),
                    4: ("t", "tool_end:1", {}), 5: ("s", "tool_end:2", {"c": 3}), 6: ("s", None, {"n": 2})}
    conn.execute("BEGIN")
    assert sql.insert_events(conn, [keyed("s", "tool_end:2", {})], None, 0) == []  # all known: none stored
    assert [ev.seq for ev in sql.insert_events(conn, [keyed("s", "tool_end:3", {})], None, 0)] == [7]  # one new
    conn.execute("COMMIT")


def test_absent_fields_are_stored_as_null_and_present_ones_as_given(tmp_path: Path) -> None:
    conn = connect(tmp_path / "o.db")
    migrate(conn)
    bare = Event("codex", "s", Kind.PROMPT, Source.HOOK, ts=1, name="UserPromptSubmit")
    full = Event("claude", "s", Kind.TOOL_END, Source.HOOK, ts=2, tool="Bash", model="m", duration_ms=0.0,
                 cwd="/w", project="w", branch="main", pid=4242, key="tool_end:1", name="PostToolUse")
    conn.execute("BEGIN")
    sql.insert_events(conn, [bare], None, 0)
    sql.insert_events(conn, [full], sql.Raw(2, "claude", "hook:claude", "application/json", b"{}"), 1 << 20)
    conn.execute("COMMIT")
    nullable = "tool, model, duration_ms, cwd, project, branch, pid, key, raw_ref"
    assert conn.execute(f"SELECT {nullable} FROM events WHERE seq = 1").fetchone() == (None,) * 9
    assert conn.execute(f"SELECT {nullable} FROM events WHERE seq = 2").fetchone() == (
        "Bash", "m", 0.0, "/w", "w", "main", 4242, "tool_end:1", 1)
    back = sql.session_events(conn, "s", 0, 10)
    assert [(ev.tool, ev.duration_ms, ev.pid, ev.key) for ev in back] == [
        (None, None, None, None), ("Bash", 0.0, 4242, "tool_end:1")]
