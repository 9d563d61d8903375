"""`photoshare stats` and `doctor`, and the deployment files (Dockerfile, systemd unit)."""

from __future__ import annotations

import configparser
import json
import re
import shlex
from pathlib import Path
from typing import Any

from photoshare.admin.doctor import run_checks
from photoshare.admin.stats import collect_stats
from photoshare.context import AppContext
from photoshare.jobs.runner import SHUTDOWN_GRACE_S
from tests.cli.test_cli import ok, run_cli
from tests.conftest import REPO, add_photo


def test_stats_counts_the_library(ctx: AppContext, alice: Any, bob: Any) -> None:
    ids = [add_photo(ctx, alice) for _ in range(3)]
    ctx.photos.delete(alice, ids[0])
    ctx.albums.create(alice, {"title": "Trip", "photo_ids": ids[1:]})
    stats = collect_stats(ctx)
    assert stats["users"] == {"total": 2, "admins": 1, "disabled": 0}
    assert stats["photos"]["total"] == 3 and stats["photos"]["trashed"] == 1
    assert stats["photos"]["by_status"] == {"ready": 3}
    assert stats["albums"] == 1
    sizes = ctx.db.query("SELECT file_size_bytes FROM photos")
    assert stats["storage"]["originals"] == 3
    assert stats["storage"]["originals_bytes"] == sum(r["file_size_bytes"] for r in sizes)
    on_disk = sum(p.stat().st_size for p in ctx.settings.blob_root.glob("variants/**/*") if p.is_file())
    assert stats["storage"]["variants_bytes"] == on_disk > 0


def test_stats_and_doctor_commands(tmp_path: Path) -> None:
    data = tmp_path / "data"
    ok(run_cli("init", "--data-dir", str(data), "--admin-user", "root", "--admin-password", "root-password"))
    stats = json.loads(ok(run_cli("stats", "--data-dir", str(data), "--json")))
    assert stats["users"]["total"] == 1 and stats["photos"]["total"] == 0
    report = ok(run_cli("doctor", "--data-dir", str(data)))
    for name in ("config", "permissions", "disk space", "database", "blob store", "libvips", "HEIC", "ML", "video"):
        assert re.search(rf"^(OK|WARN) +{name} ", report, re.M), (name, report)
    # A data disk below the configured floor is a failure, with exit status 1.
    full = run_cli("doctor", "--data-dir", str(data), "--json", PHOTOSHARE_LIMITS_MIN_FREE_DISK_MB="999999999")
    assert full.returncode == 1 and "Traceback" not in full.stderr
    checks = {c["name"]: c for c in json.loads(full.stdout)}
    assert checks["disk space"]["status"] == "fail" and "uploads are refused" in checks["disk space"]["detail"]


def test_doctor_flags_a_secret_key_others_can_read(ctx: AppContext) -> None:
    assert all(c.status != "fail" for c in run_checks(ctx))
    secret = ctx.settings.data_path / "secret.key"
    secret.chmod(0o644)
    checks = {c.name: c for c in run_checks(ctx)}
    assert checks["permissions"].status == "warn" and "chmod 600" in checks["permissions"].detail


# -- deployment ------------------------------------------------------------------------------------
def _dockerfile() -> list[tuple[str, str]]:
    text = (REPO / "Dockerfile").read_text().replace("\\\n", " ")
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_dockerfile_runs_as_a_non_root_user_with_a_data_volume() -> None:
    instructions = _dockerfile()
    users = [rest for word, rest in instructions if word == "USER"]
    assert users and users[-1] not in ("root", "0")
    # The user exists in the image and owns the data folder.
    run = " ".join(rest for word, rest in instructions if word == "RUN")
    assert f"useradd --system --create-home --uid 10001 {users[-1]}" in run and f"chown {users[-1]}" in run
    volumes = [json.loads(rest) for word, rest in instructions if word == "VOLUME"]
    env = " ".join(rest for word, rest in instructions if word == "ENV")
    data_dir = re.search(r"PHOTOSHARE_DATA_DIR=(\S+)", env)
    assert data_dir and [data_dir.group(1)] in volumes
    cmd = json.loads(next(rest for word, rest in instructions if word == "CMD"))
    assert "exec photoshare serve" in cmd[-1]  # serve is PID 1 and receives docker's SIGTERM itself


def test_systemd_unit_runs_the_appliance_confined_to_its_data_dir() -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read(REPO / "deploy" / "photoshare.service")
    service = unit["Service"]
    assert service["User"] not in ("root", "0") and service["Restart"] == "on-failure"
    assert service["NoNewPrivileges"] == "true" and service["ProtectSystem"] == "strict"
    data_dir = re.search(r"PHOTOSHARE_DATA_DIR=(\S+)", service["Environment"])
    assert data_dir and data_dir.group(1) == "/var/lib/" + service["StateDirectory"]
    assert data_dir.group(1) in service["ReadWritePaths"].split()
    command = shlex.split(service["ExecStart"])
    assert command[0].endswith("/photoshare") and command[1] == "serve"
    # systemd must not SIGKILL before the HTTP drain (10 s) and the job grace period are over.
    assert int(service["TimeoutStopSec"]) >= 10 + SHUTDOWN_GRACE_S + 5
    assert unit["Install"]["WantedBy"] == "multi-user.target"
