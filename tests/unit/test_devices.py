"""Credentials and pairing codes on a real SQLite file; the small pure pieces of the policy."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from observatory.auth import devices as dev
from observatory.auth.policy import is_ingest, is_public
from observatory.model import now_ns
from observatory.store import devices as sql
from observatory.store.db import connect
from observatory.store.migrations import migrate


@pytest.fixture
def conn(tmp_path: Path) -> sqlite3.Connection:
    db = connect(tmp_path / "observatory.db")
    migrate(db)
    return db


def test_codes_are_typable_and_forgiving():
    code = dev.new_pairing_code()
    assert len(code) == dev.CODE_LENGTH and set(code) <= set(dev.CODE_ALPHABET)
    assert not set(code) & set("01IO")
    shown = dev.display_code(code)
    assert shown[4] == "-" and dev.normalise_code(f" {shown.lower()} ") == code
    assert dev.code_hash(shown.lower()) == dev.code_hash(code)


def test_cookie_is_hardened():
    header = dev.cookie_header("abc.def", secure=True)
    assert header.startswith(f"{dev.COOKIE}=abc.def;")
    assert {"Path=/", "HttpOnly", "SameSite=Strict", "Secure"} <= {a.strip() for a in header.split(";")}
    assert "Secure" not in dev.cookie_header("abc.def", secure=False)


def test_csrf_token_is_bound_to_the_credential():
    a, b = dev.issue("a", sql.DEVICE), dev.issue("b", sql.DEVICE)
    assert dev.csrf_for(a.credential) == dev.csrf_for(a.credential) != dev.csrf_for(b.credential)
    assert a.secret not in dev.csrf_for(a.credential)


def test_code_works_once_then_reports_why(conn, tmp_path):
    code, expires_at = dev.create_pairing_code(conn, 600)
    assert expires_at > now_ns()
    outcome, device = dev.redeem(conn, dev.display_code(code), "phone")
    assert outcome == "ok" and device is not None and device.kind == sql.DEVICE
    assert dev.redeem(conn, code, "thief") == ("used", None)
    assert dev.redeem(conn, "ZZZZZZZZ", "x") == ("unknown", None)
    short, _ = dev.create_pairing_code(conn, 0.01)
    time.sleep(0.05)
    assert dev.redeem(conn, short, "late") == ("expired", None)
    stored = sql.live_credential(conn, device.id)
    assert stored.secret_hash == dev.hash_secret(device.secret)
    conn.commit()
    raw = (tmp_path / "observatory.db").read_bytes() + (tmp_path / "observatory.db-wal").read_bytes()
    assert device.secret.encode() not in raw and code.encode() not in raw  # only hashes are stored


def test_revoke_by_id_or_name_within_kinds(conn):
    phone = dev.issue("phone", sql.DEVICE)
    vm = dev.create_ingest_token(conn, "phone")  # same name, other kind
    sql.insert_credential(conn, phone.id, phone.name, phone.kind, phone.secret_hash, now_ns())
    assert sql.revoke_credential(conn, "phone", (sql.DEVICE,), now_ns()) == [phone.id]
    assert sql.live_credential(conn, phone.id) is None
    assert [r["name"] for r in sql.list_credentials(conn, (sql.DEVICE, sql.LOCAL))] == []
    assert [r["id"] for r in sql.list_credentials(conn, (sql.INGEST,))] == [vm.id]
    assert sql.revoke_credential(conn, phone.id, (sql.DEVICE,), now_ns()) == []


def test_local_browsers_are_capped(conn):
    for i in range(dev.LOCAL_BROWSERS_KEPT + 5):
        local = dev.issue("Local browser", sql.LOCAL)
        sql.insert_credential(conn, local.id, local.name, local.kind, local.secret_hash, now_ns() + i)
    vm = dev.create_ingest_token(conn, "vm")
    sql.prune_local(conn, dev.LOCAL_BROWSERS_KEPT)
    assert len(sql.list_credentials(conn, (sql.LOCAL,))) == dev.LOCAL_BROWSERS_KEPT
    assert sql.live_credential(conn, vm.id) is not None
    assert sql.live_credential(conn, local.id) is not None  # the newest one stays


def test_names_are_one_printable_line():
    assert dev.clean_name("Ana\n\x1b[31mphone\t", "x") == "Ana[31mphone"
    assert dev.clean_name("", "Unnamed device") == "Unnamed device"
    assert len(dev.clean_name("x" * 500, "d")) == 64


@pytest.mark.parametrize("method,path,public", [
    ("POST", "/api/pair", True), ("GET", "/api/pair", False), ("GET", "/pair", True),
    ("POST", "/pair", False), ("GET", "/assets/index-abc.js", True), ("GET", "/sw.js", True),
    ("GET", "/", False), ("GET", "/api/sessions", False), ("GET", "/assets", False),
    ("DELETE", "/icons/x.png", False),
])
def test_only_the_pairing_page_is_public(method, path, public):
    assert is_public(method, path) is public


def test_ingest_paths():
    assert is_ingest("/v1/logs") and is_ingest("/hooks/claude") and not is_ingest("/api/v1")
