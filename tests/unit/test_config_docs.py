"""config.example.toml is the documentation of every setting: it must parse, match the defaults and miss none."""

from __future__ import annotations

import tomllib

import msgspec

from photoshare.settings import Settings, load_settings
from tests.conftest import REPO


def _leaves(value: object, prefix: str = "") -> dict[str, object]:
    out: dict[str, object] = {}
    if isinstance(value, dict):
        for key, sub in value.items():
            out.update(_leaves(sub, f"{prefix}{key}."))
    else:
        out[prefix.rstrip(".")] = value
    return out


def test_example_config_documents_every_setting_with_its_default() -> None:
    example = tomllib.loads((REPO / "config.example.toml").read_text())
    defaults = msgspec.to_builtins(Settings())
    assert _leaves(example) == _leaves(defaults)


def test_example_config_loads() -> None:
    settings = load_settings(REPO / "config.example.toml", {})
    assert settings.limits.max_upload_mb == 50
