"""Settings: defaults, then the TOML file, then PHOTOSHARE_* variables, then explicit overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from photoshare.errors import SettingsError
from photoshare.settings import Settings, load_settings


def write_toml(tmp_path: Path, text: str, name: str = "photoshare.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


FILE = """
data_dir = "/srv/from-file"

[server]
port = 9001
host = "0.0.0.0"
public_url = "https://cdn.example.org/"

[storage]
backend = "s3"

[storage.s3]
endpoint = "minio.local:9000"
bucket = "file-bucket"
secure = true

[limits]
max_upload_mb = 10
min_free_disk_mb = 0

[jobs]
max_attempts = 7
backoff_s = 0.5

[imaging]
avif = true
"""


# -- defaults ------------------------------------------------------------------------------------
def test_defaults_without_file_or_environment() -> None:
    s = load_settings(None, {})
    assert isinstance(s, Settings)
    assert s.data_dir == "./photoshare-data"
    assert s.server.host == "127.0.0.1"
    assert s.server.port == 8080
    assert s.server.public_url == ""
    assert s.server.cookie_secure is False
    assert s.storage.backend == "local"
    assert s.storage.root == ""
    assert s.storage.s3.endpoint == "127.0.0.1:9000"
    assert s.storage.s3.bucket == "photoshare"
    assert s.storage.s3.secure is False
    assert s.storage.s3.region == "us-east-1"
    assert s.limits.max_upload_mb == 50
    assert s.limits.max_video_mb == 2048
    assert s.limits.max_pixels == 200_000_000
    assert s.limits.min_free_disk_mb == 512
    assert s.jobs.max_attempts == 5
    assert s.jobs.lease_s == 300
    assert s.jobs.backoff_s == 2.0
    assert s.imaging.avif is False
    assert s.imaging.webp is True
    assert "image/jpeg" in s.uploads.allowed_types
    assert s.uploads.url_ttl_s == 3600
    assert s.base_url == "http://127.0.0.1:8080"


def test_derived_paths(tmp_path: Path) -> None:
    s = load_settings(None, {}, data_dir=str(tmp_path / "d"))
    assert s.data_path == (tmp_path / "d").resolve()
    assert s.db_path == s.data_path / "photoshare.db"
    assert s.blob_root == s.data_path / "blobs"
    s2 = load_settings(None, {}, data_dir=str(tmp_path / "d"), storage={"root": str(tmp_path / "elsewhere")})
    assert s2.blob_root == (tmp_path / "elsewhere").resolve()


def test_base_url_uses_public_url_or_a_reachable_host() -> None:
    assert load_settings(None, {"PHOTOSHARE_SERVER_HOST": "0.0.0.0"}).base_url == "http://127.0.0.1:8080"
    s = load_settings(None, {"PHOTOSHARE_SERVER_PUBLIC_URL": "https://cdn.example.org/"})
    assert s.base_url == "https://cdn.example.org"


# -- the TOML file --------------------------------------------------------------------------------
def test_values_from_toml_file(tmp_path: Path) -> None:
    s = load_settings(write_toml(tmp_path, FILE), {})
    assert s.data_dir == "/srv/from-file"
    assert s.server.port == 9001
    assert s.server.host == "0.0.0.0"
    assert s.base_url == "https://cdn.example.org"
    assert s.storage.backend == "s3"
    assert s.storage.s3.endpoint == "minio.local:9000"
    assert s.storage.s3.bucket == "file-bucket"
    assert s.storage.s3.secure is True
    assert s.limits.max_upload_mb == 10
    assert s.limits.min_free_disk_mb == 0
    assert s.jobs.max_attempts == 7
    assert s.jobs.backoff_s == 0.5
    assert s.imaging.avif is True
    # Keys the file does not mention keep their defaults.
    assert s.limits.max_video_mb == 2048
    assert s.storage.s3.region == "us-east-1"


def test_config_file_accepts_str_and_pathlike(tmp_path: Path) -> None:
    path = write_toml(tmp_path, "[server]\nport = 9100\n")
    assert load_settings(str(path), {}).server.port == 9100
    assert load_settings(path, {}).server.port == 9100


def test_photoshare_config_variable_names_the_file(tmp_path: Path) -> None:
    path = write_toml(tmp_path, "[server]\nport = 9200\n")
    assert load_settings(None, {"PHOTOSHARE_CONFIG": str(path)}).server.port == 9200


def test_explicit_config_argument_wins_over_photoshare_config(tmp_path: Path) -> None:
    env_file = write_toml(tmp_path, "[server]\nport = 9200\n", "env.toml")
    arg_file = write_toml(tmp_path, "[server]\nport = 9300\n", "arg.toml")
    assert load_settings(arg_file, {"PHOTOSHARE_CONFIG": str(env_file)}).server.port == 9300


# -- environment ---------------------------------------------------------------------------------
def test_env_overrides_win_over_the_file(tmp_path: Path) -> None:
    env = {
        "PHOTOSHARE_SERVER_PORT": "9999",
        "PHOTOSHARE_LIMITS_MAX_UPLOAD_MB": "77",
        "PHOTOSHARE_STORAGE_S3_ENDPOINT": "s3.example.org:443",
        "PHOTOSHARE_STORAGE_S3_SECURE": "false",
        "PHOTOSHARE_IMAGING_AVIF": "false",
        "PHOTOSHARE_DATA_DIR": "/srv/from-env",
        "PHOTOSHARE_JOBS_BACKOFF_S": "0.25",
    }
    s = load_settings(write_toml(tmp_path, FILE), env)
    assert s.server.port == 9999
    assert s.limits.max_upload_mb == 77
    assert s.storage.s3.endpoint == "s3.example.org:443"
    assert s.storage.s3.secure is False
    assert s.imaging.avif is False
    assert s.data_dir == "/srv/from-env"
    assert s.jobs.backoff_s == 0.25
    # What the environment does not mention still comes from the file.
    assert s.server.host == "0.0.0.0"
    assert s.storage.s3.bucket == "file-bucket"
    assert s.jobs.max_attempts == 7


@pytest.mark.parametrize(
    ("var", "value", "path", "expected"),
    [
        ("PHOTOSHARE_LIMITS_MAX_UPLOAD_MB", "123", ("limits", "max_upload_mb"), 123),
        ("PHOTOSHARE_LIMITS_MIN_FREE_DISK_MB", "0", ("limits", "min_free_disk_mb"), 0),
        ("PHOTOSHARE_LIMITS_LOGIN_ATTEMPTS_PER_MINUTE", "3", ("limits", "login_attempts_per_minute"), 3),
        ("PHOTOSHARE_STORAGE_S3_ENDPOINT", "minio:9000", ("storage", "s3", "endpoint"), "minio:9000"),
        ("PHOTOSHARE_STORAGE_S3_ACCESS_KEY", "AKIA", ("storage", "s3", "access_key"), "AKIA"),
        ("PHOTOSHARE_STORAGE_S3_SECRET_KEY", "s3cr3t", ("storage", "s3", "secret_key"), "s3cr3t"),
        ("PHOTOSHARE_SERVER_PUBLIC_URL", "https://x.test", ("server", "public_url"), "https://x.test"),
        ("PHOTOSHARE_SERVER_SESSION_DAYS", "2", ("server", "session_days"), 2),
        ("PHOTOSHARE_JOBS_MEDIA_WORKERS", "4", ("jobs", "media_workers"), 4),
        ("PHOTOSHARE_DELIVERY_SIGNED_URL_TTL_S", "60", ("delivery", "signed_url_ttl_s"), 60),
        ("PHOTOSHARE_UPLOADS_URL_TTL_S", "120", ("uploads", "url_ttl_s"), 120),
        ("PHOTOSHARE_DATA_DIR", "/srv/x", ("data_dir",), "/srv/x"),
    ],
)
def test_env_variable_maps_to_key_with_underscores(
    var: str, value: str, path: tuple[str, ...], expected: object
) -> None:
    node: object = load_settings(None, {var: value})
    for part in path:
        node = getattr(node, part)
    assert node == expected
    assert type(node) is type(expected)


@pytest.mark.parametrize(("value", "expected"), [("true", True), ("false", False), ("True", True), ("0", False)])
def test_env_booleans(value: str, expected: bool) -> None:
    s = load_settings(None, {"PHOTOSHARE_STORAGE_S3_SECURE": value, "PHOTOSHARE_SERVER_COOKIE_SECURE": value})
    assert s.storage.s3.secure is expected
    assert s.server.cookie_secure is expected


def test_env_list_value_is_split_on_commas() -> None:
    s = load_settings(None, {"PHOTOSHARE_UPLOADS_ALLOWED_TYPES": "image/jpeg,image/png"})
    assert s.uploads.allowed_types == ["image/jpeg", "image/png"]


def test_unrelated_photoshare_variables_are_ignored() -> None:
    s = load_settings(None, {"PHOTOSHARE_CORPUS": "/somewhere", "PHOTOSHARE_SERVER_NOPE": "1", "OTHER_PORT": "1"})
    assert s == load_settings(None, {})


def test_environ_defaults_to_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PHOTOSHARE_SERVER_PORT", "8123")
    assert load_settings().server.port == 8123


# -- explicit overrides ---------------------------------------------------------------------------
def test_explicit_overrides_win_over_env_and_file(tmp_path: Path) -> None:
    env = {"PHOTOSHARE_DATA_DIR": "/srv/from-env", "PHOTOSHARE_SERVER_PORT": "9999"}
    s = load_settings(write_toml(tmp_path, FILE), env, data_dir=str(tmp_path / "flag"))
    assert s.data_dir == str(tmp_path / "flag")
    assert s.server.port == 9999


def test_explicit_override_accepts_a_path(tmp_path: Path) -> None:
    s = load_settings(None, {"PHOTOSHARE_DATA_DIR": "/srv/from-env"}, data_dir=tmp_path / "p")
    assert s.data_dir == str(tmp_path / "p")


def test_none_override_does_not_hide_env() -> None:
    s = load_settings(None, {"PHOTOSHARE_DATA_DIR": "/srv/from-env"}, data_dir=None)
    assert s.data_dir == "/srv/from-env"


def test_partial_section_override_keeps_other_keys_of_that_section(tmp_path: Path) -> None:
    """`jobs={"backoff_s": ...}` (the test fixture's spelling) overrides one key, not the whole section."""
    env = {"PHOTOSHARE_JOBS_MAX_ATTEMPTS": "3"}
    s = load_settings(write_toml(tmp_path, "[jobs]\nlease_s = 42\n"), env, jobs={"backoff_s": 0.01})
    assert s.jobs.backoff_s == 0.01
    assert s.jobs.max_attempts == 3
    assert s.jobs.lease_s == 42


# -- invalid values -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("env", "key"),
    [
        ({"PHOTOSHARE_SERVER_PORT": "0"}, "server.port"),
        ({"PHOTOSHARE_SERVER_PORT": "70000"}, "server.port"),
        ({"PHOTOSHARE_SERVER_PORT": "eighty"}, "server.port"),
        ({"PHOTOSHARE_STORAGE_BACKEND": "ftp"}, "storage.backend"),
        ({"PHOTOSHARE_LIMITS_MAX_UPLOAD_MB": "-1"}, "limits.max_upload_mb"),
        ({"PHOTOSHARE_LIMITS_MAX_UPLOAD_MB": "0"}, "limits.max_upload_mb"),
        ({"PHOTOSHARE_LIMITS_MAX_VIDEO_MB": "-5"}, "limits.max_video_mb"),
        ({"PHOTOSHARE_LIMITS_MAX_PIXELS": "-5"}, "limits.max_pixels"),
        ({"PHOTOSHARE_LIMITS_MIN_FREE_DISK_MB": "-1"}, "limits.min_free_disk_mb"),
        ({"PHOTOSHARE_JOBS_MAX_ATTEMPTS": "0"}, "jobs.max_attempts"),
        ({"PHOTOSHARE_JOBS_MEDIA_WORKERS": "0"}, "jobs.media_workers"),
        ({"PHOTOSHARE_SERVER_PUBLIC_URL": "cdn.example.org"}, "server.public_url"),
        ({"PHOTOSHARE_IMAGING_JPEG_QUALITY": "101"}, "imaging.jpeg_quality"),
        ({"PHOTOSHARE_STORAGE_S3_SECURE": "maybe"}, "storage.s3.secure"),
    ],
)
def test_invalid_values_name_the_key(env: dict[str, str], key: str) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(None, env)
    assert key in info.value.message
    assert info.value.code == "invalid_settings"


def test_invalid_value_from_file_names_the_key(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"server\.port"):
        load_settings(write_toml(tmp_path, "[server]\nport = 0\n"), {})
    with pytest.raises(SettingsError, match=r"storage\.backend"):
        load_settings(write_toml(tmp_path, '[storage]\nbackend = "ftp"\n'), {})


def test_all_problems_are_reported_together() -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(None, {"PHOTOSHARE_SERVER_PORT": "0", "PHOTOSHARE_STORAGE_BACKEND": "ftp"})
    assert "server.port" in info.value.message
    assert "storage.backend" in info.value.message


def test_unknown_key_in_file_is_rejected_and_named(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(write_toml(tmp_path, "[server]\nprot = 8080\n"), {})
    assert "prot" in info.value.message
    assert "server" in info.value.message


def test_unknown_section_in_file_is_rejected_and_named(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="storag"):
        load_settings(write_toml(tmp_path, "[storag]\nbackend = 'local'\n"), {})


def test_unknown_nested_key_in_file_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="endpiont"):
        load_settings(write_toml(tmp_path, "[storage.s3]\nendpiont = 'x:1'\n"), {})


def test_wrong_type_in_file_names_the_key(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="max_upload_mb"):
        load_settings(write_toml(tmp_path, "[limits]\nmax_upload_mb = 'lots'\n"), {})


def test_malformed_toml(tmp_path: Path) -> None:
    path = write_toml(tmp_path, "[server\nport = 1\n")
    with pytest.raises(SettingsError) as info:
        load_settings(path, {})
    assert str(path) in info.value.message
    assert "TOML" in info.value.message


def test_missing_config_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(SettingsError) as info:
        load_settings(missing, {})
    assert str(missing) in info.value.message
    assert "does not exist" in info.value.message
    with pytest.raises(SettingsError, match="does not exist"):
        load_settings(None, {"PHOTOSHARE_CONFIG": str(missing)})
