"""`observatory install`, `uninstall` and `doctor`: iterate the integrations (one per CLI)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from types import ModuleType

from observatory import hook
from observatory import config
from observatory.cli import common_options, register
from observatory.config import Settings
from observatory.integrations import INTEGRATIONS, doctor, shellenv
from observatory.integrations.common import (
    TEXT,
    ConfigError,
    Context,
    Edit,
    Manifest,
    apply_install,
    apply_uninstall,
    backup_dir_for,
    diff,
    plan_install,
    plan_uninstall,
    replaced_values,
)

TARGETS = [*INTEGRATIONS, "all"]


def settings_from(args: argparse.Namespace) -> Settings:
    """Like the other commands, but writes nothing: a dry run must leave no trace."""
    return config.load({"data_dir": args.data_dir},
                       config_file=Path(args.config) if args.config else None, write_default=False)


def context(settings: Settings) -> Context:
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
    return Context(home=Path.home(), data_dir=settings.data_dir, base_url=f"http://{host}:{settings.port}",
                   env=dict(os.environ))


def _options(p: argparse.ArgumentParser) -> None:
    common_options(p)
    p.add_argument("--target", choices=TARGETS, default="all",
                   help="which agent CLI (default: all, meaning every one found on this machine)")
    p.add_argument("--dry-run", action="store_true", help="print the unified diff, write nothing")
    p.add_argument("--profile", help="shell profile for the OTEL_* block (default: ~/.zshrc, ~/.bashrc or ~/.profile by $SHELL)")


def _targets(ctx: Context, target: str, detected_only: bool) -> list[ModuleType]:
    if target != "all":
        return [INTEGRATIONS[target]]
    return [m for m in INTEGRATIONS.values() if not detected_only or m.detect(ctx)]


def _hook_script_edit(ctx: Context) -> Edit:
    return Edit(ctx.hook_script, TEXT, lambda text, record: hook.script_text(), lambda text, record: "")


def _shared_edits(ctx: Context, profile: Path) -> list[Edit]:
    return [_hook_script_edit(ctx), *shellenv.edits(ctx, profile)]


def cmd_install(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    ctx = context(settings)
    targets = _targets(ctx, args.target, detected_only=True)
    if not targets:
        print("no agent CLI found (claude, codex, gemini on PATH or their config dirs); "
              "name one with --target to configure it anyway", file=sys.stderr)
        return 1
    manifest = Manifest(settings.data_dir)
    profile = shellenv.profile_path(ctx, args.profile)
    edits = [*_shared_edits(ctx, profile), *(e for m in targets for e in m.edits(ctx))]
    try:
        changes = plan_install(edits, manifest)
    except ConfigError as exc:
        print(f"observatory install: {exc}", file=sys.stderr)
        return 1
    if args.dry_run:
        print(diff(changes) or "nothing to change: already installed")
        return 0
    backups = apply_install(changes, manifest, backup_dir_for(settings.data_dir))
    changed = [c for c in changes if c.changed]
    print(f"observatory install: {len(changed)} file(s) changed, reporting to {ctx.base_url}")
    for m in targets:
        for note in m.install_notes(ctx):
            print(f"  {m.name}: {note}")
    for c in changes:
        for label in replaced_values(c.record):
            print(f"  note: replaced your {label} in {c.path}; observatory uninstall puts it back")
        if c.record.get("kept_user_notify"):
            print(f"  note: kept your own notify program in {c.path}; Codex turn ends then come only from hooks")
    print(f"  shell: OTEL_* block in {profile} and {shellenv.env_file(ctx)}; "
          f"for this shell run: . {shellenv.env_file(ctx)}")
    if backups:
        print(f"  backups: {backups[0].parent}")
    return 0


def cmd_uninstall(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    ctx = context(settings)
    manifest = Manifest(settings.data_dir)
    edits = [e for m in _targets(ctx, args.target, detected_only=False) for e in m.edits(ctx)]
    if args.target == "all":
        profiles = {shellenv.profile_path(ctx, args.profile)}
        profiles |= {Path(p) for p, r in manifest.files.items() if r.get("profile")}
        edits = [_hook_script_edit(ctx), *(e for p in sorted(profiles) for e in shellenv.edits(ctx, p)), *edits]
    try:
        changes = plan_uninstall(edits, manifest)
    except ConfigError as exc:
        print(f"observatory uninstall: {exc}", file=sys.stderr)
        return 1
    if args.dry_run:
        print(diff(changes) or "nothing to change: not installed")
        return 0
    apply_uninstall(changes, manifest, [e.path for e in edits])
    for c in changes:
        if c.changed:
            print(f"  {'removed' if c.after is None else 'restored'} {c.path}")
    print(f"observatory uninstall: {sum(c.changed for c in changes)} file(s) changed")
    return 0


def _doctor_options(p: argparse.ArgumentParser) -> None:
    common_options(p)


def cmd_doctor(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    checks = doctor.run_checks(settings, context(settings))
    print(doctor.report(checks))
    failed = sum(c.status == "fail" for c in checks)
    warned = sum(c.status == "warn" for c in checks)
    print(f"\n{failed} failed, {warned} warnings, {len(checks) - failed - warned} ok")
    return 1 if failed else 0


register("install", "send every agent CLI's hooks and telemetry here", _options, cmd_install)
register("uninstall", "take back what install changed", _options, cmd_uninstall)
register("doctor", "check the setup; each problem comes with a one-line fix", _doctor_options, cmd_doctor)
