"""The real `photoshare` console entry, run as a subprocess against data folders in tmp dirs."""

from __future__ import annotations

import json
import re
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from photoshare.context import AppContext, build_context
from photoshare.errors import NotAuthenticated
from photoshare.jobs import job
from photoshare.settings import load_settings
from tests.conftest import NO_ML, _cli_env, free_port

ADMIN_PW = "root-password"


@job("test.cli", queue="test")
def _cli_handler(ctx: Any, payload: dict[str, Any]) -> None:
    raise AssertionError("never run by these tests")


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 120, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "photoshare", *args],
        env=_cli_env(**env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    return result.stdout


def open_ctx(data_dir: Path) -> AppContext:
    return build_context(load_settings(None, NO_ML, data_dir=str(data_dir)))


def can_login(data_dir: Path, username: str, password: str) -> bool:
    ctx = open_ctx(data_dir)
    try:
        ctx.users.authenticate(username, password)
        return True
    except NotAuthenticated:
        return False
    finally:
        ctx.close()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """An initialised data folder with administrator `root`."""
    d = tmp_path / "data"
    ok(run_cli("init", "--data-dir", str(d), "--admin-user", "root", "--admin-password", ADMIN_PW, cwd=tmp_path))
    return d


# -- init ----------------------------------------------------------------------------------------
def test_init_creates_folder_database_secret_and_admin(tmp_path: Path) -> None:
    d = tmp_path / "fresh" / "data"
    out = ok(run_cli("init", "--data-dir", str(d), "--admin-user", "root", "--admin-password", ADMIN_PW, cwd=tmp_path))
    assert "root" in out
    assert "Generated password" not in out
    assert ADMIN_PW not in out
    assert (d / "photoshare.db").is_file()
    secret = d / "secret.key"
    assert secret.is_file()
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert re.fullmatch(r"[0-9a-f]{64}", secret.read_text().strip())
    ctx = open_ctx(d)
    try:
        users = ctx.users.list()
        assert [(u.username, u.is_admin) for u in users] == [("root", True)]
        assert ctx.users.authenticate("root", ADMIN_PW).is_admin
    finally:
        ctx.close()


def test_init_again_changes_nothing_and_says_so(data_dir: Path, tmp_path: Path) -> None:
    secret = (data_dir / "secret.key").read_text()
    result = run_cli(
        "init", "--data-dir", str(data_dir), "--admin-user", "other", "--admin-password", "other-password", cwd=tmp_path
    )
    out = ok(result)
    assert "already initialised" in out
    assert "nothing changed" in out
    assert (data_dir / "secret.key").read_text() == secret
    ctx = open_ctx(data_dir)
    try:
        assert [u.username for u in ctx.users.list()] == ["root"]
    finally:
        ctx.close()
    assert can_login(data_dir, "root", ADMIN_PW)
    assert not can_login(data_dir, "other", "other-password")


def test_init_without_password_prints_a_working_generated_one(tmp_path: Path) -> None:
    d = tmp_path / "data"
    out = ok(run_cli("init", "--data-dir", str(d), "--admin-user", "root", cwd=tmp_path))
    match = re.search(r"Generated password: (\S+)", out)
    assert match, out
    password = match.group(1)
    assert len(password) >= 12
    assert can_login(d, "root", password)
    assert not can_login(d, "root", password + "x")


def test_init_default_admin_name(tmp_path: Path) -> None:
    d = tmp_path / "data"
    ok(run_cli("init", "--data-dir", str(d), "--admin-password", ADMIN_PW, cwd=tmp_path))
    assert can_login(d, "admin", ADMIN_PW)


def test_init_with_too_short_password_fails_cleanly(tmp_path: Path) -> None:
    d = tmp_path / "data"
    result = run_cli("init", "--data-dir", str(d), "--admin-user", "root", "--admin-password", "short", cwd=tmp_path)
    assert result.returncode != 0
    assert "password" in result.stderr
    assert "Traceback" not in result.stderr


# -- users ---------------------------------------------------------------------------------------
def user_list(data_dir: Path) -> dict[str, dict[str, Any]]:
    out = ok(run_cli("user", "list", "--json", "--data-dir", str(data_dir)))
    return {u["username"]: u for u in json.loads(out)}


def test_user_add_and_list(data_dir: Path) -> None:
    out = ok(run_cli("user", "add", "bob", "--password", "bob-password", "--data-dir", str(data_dir)))
    assert "bob" in out
    out = ok(run_cli("user", "add", "carol", "--password", "carol-password", "--admin", "--data-dir", str(data_dir)))
    assert "administrator" in out
    users = user_list(data_dir)
    assert set(users) == {"root", "bob", "carol"}
    assert users["root"]["is_admin"] is True
    assert users["bob"]["is_admin"] is False
    assert users["carol"]["is_admin"] is True
    assert all(u["disabled"] is False for u in users.values())
    assert all(re.fullmatch(r"[0-9a-f]{32}", u["user_id"]) for u in users.values())
    assert can_login(data_dir, "bob", "bob-password")
    plain = ok(run_cli("user", "list", "--data-dir", str(data_dir)))
    assert "bob" in plain and "carol" in plain and "admin" in plain


def test_user_add_duplicate_or_invalid_fails(data_dir: Path) -> None:
    dup = run_cli("user", "add", "root", "--password", "another-password", "--data-dir", str(data_dir))
    assert dup.returncode != 0
    assert "already exists" in dup.stderr
    short = run_cli("user", "add", "dave", "--password", "short", "--data-dir", str(data_dir))
    assert short.returncode != 0
    assert "password" in short.stderr
    bad_name = run_cli("user", "add", "-x", "--password", "long-enough", "--data-dir", str(data_dir))
    assert bad_name.returncode != 0
    for r in (dup, short, bad_name):
        assert "Traceback" not in r.stderr
    assert set(user_list(data_dir)) == {"root"}


def test_user_disable_and_enable(data_dir: Path) -> None:
    ok(run_cli("user", "add", "bob", "--password", "bob-password", "--data-dir", str(data_dir)))
    out = ok(run_cli("user", "disable", "bob", "--data-dir", str(data_dir)))
    assert "disabled" in out
    assert user_list(data_dir)["bob"]["disabled"] is True
    assert not can_login(data_dir, "bob", "bob-password")
    ok(run_cli("user", "disable", "bob", "--enable", "--data-dir", str(data_dir)))
    assert user_list(data_dir)["bob"]["disabled"] is False
    assert can_login(data_dir, "bob", "bob-password")
    missing = run_cli("user", "disable", "nobody", "--data-dir", str(data_dir))
    assert missing.returncode != 0
    assert "nobody" in missing.stderr


def test_user_passwd(data_dir: Path) -> None:
    ok(run_cli("user", "add", "bob", "--password", "bob-password", "--data-dir", str(data_dir)))
    ok(run_cli("user", "passwd", "bob", "--password", "bob-password-2", "--data-dir", str(data_dir)))
    assert can_login(data_dir, "bob", "bob-password-2")
    assert not can_login(data_dir, "bob", "bob-password")
    short = run_cli("user", "passwd", "bob", "--password", "short", "--data-dir", str(data_dir))
    assert short.returncode != 0
    assert can_login(data_dir, "bob", "bob-password-2")


# -- uninitialised folders -----------------------------------------------------------------------
@pytest.mark.parametrize(
    "args",
    [
        ("user", "list"),
        ("user", "add", "bob", "--password", "bob-password"),
        ("user", "disable", "bob"),
        ("user", "passwd", "bob", "--password", "bob-password"),
        ("jobs", "list"),
        ("jobs", "retry"),
    ],
)
def test_commands_on_uninitialised_folder_fail(tmp_path: Path, args: tuple[str, ...]) -> None:
    d = tmp_path / "nothing-here"
    result = run_cli(*args, "--data-dir", str(d), cwd=tmp_path)
    assert result.returncode != 0
    assert "not initialised" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (d / "photoshare.db").exists()


def test_command_on_existing_empty_folder_fails(tmp_path: Path) -> None:
    d = tmp_path / "empty"
    d.mkdir()
    result = run_cli("user", "list", "--data-dir", str(d), cwd=tmp_path)
    assert result.returncode != 0
    assert "not initialised" in result.stderr
    assert list(d.iterdir()) == []


# -- jobs ----------------------------------------------------------------------------------------
def make_dead_jobs(data_dir: Path, n: int = 1) -> tuple[list[str], str]:
    """`n` dead jobs and one queued job, written through the real JobQueue."""
    ctx = open_ctx(data_dir)
    try:
        dead = [ctx.jobs.enqueue("test.cli", {"photo_id": f"p{i}"}) for i in range(n)]
        for job_id in dead:
            claimed = ctx.jobs.claim("test")
            assert claimed is not None and claimed.id == job_id
            assert ctx.jobs.fail(claimed, "PermanentJobError: corrupt file\ndetails", permanent=True)
        queued_id = ctx.jobs.enqueue("test.cli", {"photo_id": "queued"})
        assert all(dead) and queued_id
        return [d for d in dead if d], queued_id
    finally:
        ctx.close()


def job_row(data_dir: Path, job_id: str) -> dict[str, Any]:
    ctx = open_ctx(data_dir)
    try:
        r = ctx.db.one("SELECT * FROM jobs WHERE id = ?", (job_id,))
        assert r is not None
        return r
    finally:
        ctx.close()


def test_jobs_list_json_and_retry(data_dir: Path) -> None:
    [dead_id], queued_id = make_dead_jobs(data_dir)
    listing = json.loads(ok(run_cli("jobs", "list", "--json", "--data-dir", str(data_dir))))
    assert listing["counts"] == {"dead": 1, "queued": 1}
    by_id = {j["id"]: j for j in listing["jobs"]}
    assert set(by_id) == {dead_id, queued_id}
    assert by_id[dead_id]["status"] == "dead"
    assert by_id[dead_id]["name"] == "test.cli"
    assert by_id[dead_id]["attempts"] == 1
    assert "corrupt file" in by_id[dead_id]["last_error"]
    assert by_id[queued_id]["status"] == "queued"

    only_dead = json.loads(ok(run_cli("jobs", "list", "--status", "dead", "--json", "--data-dir", str(data_dir))))
    assert [j["id"] for j in only_dead["jobs"]] == [dead_id]

    text = ok(run_cli("jobs", "list", "--data-dir", str(data_dir)))
    assert "dead=1" in text and "queued=1" in text
    assert dead_id in text and "corrupt file" in text

    out = ok(run_cli("jobs", "retry", dead_id, "--data-dir", str(data_dir)))
    assert "Requeued 1" in out
    r = job_row(data_dir, dead_id)
    assert (r["status"], r["attempts"], r["last_error"]) == ("queued", 0, None)
    assert "Requeued 0" in ok(run_cli("jobs", "retry", "--data-dir", str(data_dir)))
    listing = json.loads(ok(run_cli("jobs", "list", "--json", "--data-dir", str(data_dir))))
    assert listing["counts"] == {"queued": 2}


def test_jobs_retry_all(data_dir: Path) -> None:
    [dead_id, second_dead], _ = make_dead_jobs(data_dir, 2)
    out = ok(run_cli("jobs", "retry", "--data-dir", str(data_dir)))
    assert "Requeued 2" in out
    assert job_row(data_dir, dead_id)["status"] == "queued"
    assert job_row(data_dir, second_dead)["status"] == "queued"


def test_jobs_list_empty(data_dir: Path) -> None:
    assert json.loads(ok(run_cli("jobs", "list", "--json", "--data-dir", str(data_dir)))) == {"counts": {}, "jobs": []}
    assert "no jobs" in ok(run_cli("jobs", "list", "--data-dir", str(data_dir)))


# -- configuration -------------------------------------------------------------------------------
def test_photoshare_data_dir_instead_of_flag(tmp_path: Path) -> None:
    d = tmp_path / "env-data"
    ok(run_cli("init", "--admin-user", "root", "--admin-password", ADMIN_PW, cwd=tmp_path, PHOTOSHARE_DATA_DIR=str(d)))
    assert (d / "photoshare.db").is_file()
    assert not (tmp_path / "photoshare-data").exists()
    ok(run_cli("user", "add", "bob", "--password", "bob-password", cwd=tmp_path, PHOTOSHARE_DATA_DIR=str(d)))
    out = ok(run_cli("user", "list", "--json", cwd=tmp_path, PHOTOSHARE_DATA_DIR=str(d)))
    assert {u["username"] for u in json.loads(out)} == {"root", "bob"}


def test_data_dir_flag_wins_over_env(data_dir: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "not-initialised"
    out = ok(run_cli("user", "list", "--json", "--data-dir", str(data_dir), PHOTOSHARE_DATA_DIR=str(elsewhere)))
    assert [u["username"] for u in json.loads(out)] == ["root"]
    assert not elsewhere.exists()


def test_config_file(tmp_path: Path) -> None:
    d = tmp_path / "cfg-data"
    config = tmp_path / "photoshare.toml"
    config.write_text(f'data_dir = "{d}"\n\n[server]\nport = 9123\n')
    ok(run_cli("init", "--config", str(config), "--admin-user", "root", "--admin-password", ADMIN_PW, cwd=tmp_path))
    assert (d / "photoshare.db").is_file()
    ok(run_cli("user", "add", "bob", "--password", "bob-password", "--config", str(config), cwd=tmp_path))
    out = ok(run_cli("user", "list", "--json", "--config", str(config), cwd=tmp_path))
    assert {u["username"] for u in json.loads(out)} == {"root", "bob"}
    # PHOTOSHARE_CONFIG names the same file.
    out = ok(run_cli("user", "list", "--json", cwd=tmp_path, PHOTOSHARE_CONFIG=str(config)))
    assert {u["username"] for u in json.loads(out)} == {"root", "bob"}
    # An environment override still wins over the file.
    other = tmp_path / "other"
    ok(
        run_cli(
            "init", "--config", str(config), "--admin-password", ADMIN_PW, cwd=tmp_path, PHOTOSHARE_DATA_DIR=str(other)
        )
    )
    assert (other / "photoshare.db").is_file()


def test_bad_config_is_reported(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[server]\nport = 0\n")
    result = run_cli("init", "--config", str(bad), "--data-dir", str(tmp_path / "d"), cwd=tmp_path)
    assert result.returncode != 0
    assert "server.port" in result.stderr
    assert "Traceback" not in result.stderr
    missing = run_cli("user", "list", "--config", str(tmp_path / "missing.toml"), cwd=tmp_path)
    assert missing.returncode != 0
    assert "does not exist" in missing.stderr
    unknown = tmp_path / "unknown.toml"
    unknown.write_text("[limits]\nmax_upload = 3\n")
    result = run_cli("user", "list", "--config", str(unknown), cwd=tmp_path)
    assert result.returncode != 0
    assert "max_upload" in result.stderr


# -- serve ---------------------------------------------------------------------------------------
@pytest.fixture
def server(data_dir: Path, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int, Path]]:
    port = free_port()
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "photoshare", "serve", "--data-dir", str(data_dir), "--port", str(port)],
            env=_cli_env(),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, f"serve exited with {proc.returncode}:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"serve never became healthy:\n{log.read_text()}"
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        yield proc, port, log
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def test_second_serve_on_same_data_dir_fails(server: tuple[subprocess.Popen[bytes], int, Path], data_dir: Path) -> None:
    proc, port, log = server
    assert f"http://127.0.0.1:{port}" in log.read_text()
    health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).json()
    assert health["status"] == "ok"

    other_port = free_port()
    second = run_cli("serve", "--data-dir", str(data_dir), "--port", str(other_port), timeout=60)
    assert second.returncode != 0
    assert "already serving" in second.stderr
    assert "Traceback" not in second.stderr
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{other_port}/healthz", timeout=1)
    # The first one is unharmed.
    assert proc.poll() is None
    assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200


def test_serve_stops_on_sigterm_and_releases_the_lock(
    server: tuple[subprocess.Popen[bytes], int, Path], data_dir: Path, tmp_path: Path
) -> None:
    proc, _, _ = server
    proc.terminate()
    assert proc.wait(30) is not None
    # The data folder can be served again once the first process is gone.
    port = free_port()
    again = subprocess.Popen(
        [sys.executable, "-m", "photoshare", "serve", "--data-dir", str(data_dir), "--port", str(port)],
        env=_cli_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        healthy = False
        while time.monotonic() < deadline and again.poll() is None:
            try:
                healthy = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                healthy = False
            if healthy:
                break
            time.sleep(0.1)
        assert healthy
    finally:
        again.terminate()
        try:
            again.wait(20)
        except subprocess.TimeoutExpired:
            again.kill()
            again.wait()
