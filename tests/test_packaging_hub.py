"""The committed JupyterHub configuration (deploy/): what `make hub` promises, read from the
config itself (the browser suite, tests/browser/test_hub.py, drives the running hub)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "deploy" / "jupyterhub_config.py"


def load(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **env: str) -> Any:
    from traitlets.config import Config

    for name in ("UPPERBACK_HUB_PORT", "UPPERBACK_HUB_ADMIN", "UPPERBACK_HUB_IDLE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("UPPERBACK_HUB_STATE", str(tmp_path / "state"))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    c = Config()
    exec(compile(CONFIG.read_text(), str(CONFIG), "exec"), {"get_config": lambda: c,
                                                            "__file__": str(CONFIG)})
    return c


def test_defaults_loopback_port_8000_no_admin(monkeypatch: pytest.MonkeyPatch,
                                              tmp_path: Path) -> None:
    c = load(monkeypatch, tmp_path)
    assert c.JupyterHub.bind_url == "http://127.0.0.1:8000"
    assert c.JupyterHub.hub_bind_url.startswith("http://127.0.0.1:")
    assert c.ConfigurableHTTPProxy.api_url.startswith("http://127.0.0.1:")
    assert c.Authenticator.admin_users == set()
    assert (tmp_path / "state").stat().st_mode & 0o777 == 0o700


def test_port_and_first_admin_from_the_environment(monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    c = load(monkeypatch, tmp_path, UPPERBACK_HUB_PORT="9100", UPPERBACK_HUB_ADMIN="dr-lee")
    assert c.JupyterHub.bind_url == "http://127.0.0.1:9100"
    assert c.Authenticator.admin_users == {"dr-lee"}


def test_sign_in_needs_approval_and_no_password_is_committed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    c = load(monkeypatch, tmp_path)
    assert c.JupyterHub.authenticator_class == "native"
    assert c.NativeAuthenticator.open_signup is False
    assert c.NativeAuthenticator.minimum_password_length >= 10
    # No section (DummyAuthenticator, SharedPasswordAuthenticator...) holds a fixed password.
    assert [f"{section}.{key}" for section in c for key in c[section]
            if "password" in key.lower() and "length" not in key.lower()
            and "common" not in key.lower()] == []
    assert not (REPO / "deploy" / "state").is_dir() or "state/" in (
        REPO / "deploy" / ".gitignore").read_text()


def test_each_clinician_gets_voila_and_idle_servers_are_culled(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    c = load(monkeypatch, tmp_path, UPPERBACK_HUB_IDLE="900")
    assert c.JupyterHub.spawner_class == "simple"
    assert c.Spawner.default_url == "/voila/render/assessment.ipynb"
    assert "--VoilaConfiguration.template=upperback" in c.Spawner.args
    assert "--ServerApp.terminals_enabled=False" in c.Spawner.args
    assert "--MappingKernelManager.cull_idle_timeout=900" in c.Spawner.args
    (culler,) = c.JupyterHub.services
    assert culler["command"][1:3] == ["-m", "jupyterhub_idle_culler"]
    assert "--timeout=900" in culler["command"]
    (role,) = c.JupyterHub.load_roles
    assert role["services"] == ["idle-culler"]
    assert "delete:servers" in role["scopes"]


def test_proxy_comes_from_npm_under_deploy(monkeypatch: pytest.MonkeyPatch,
                                           tmp_path: Path) -> None:
    c = load(monkeypatch, tmp_path)
    assert c.ConfigurableHTTPProxy.command == [
        str(REPO / "deploy" / "node_modules" / ".bin" / "configurable-http-proxy")]
    package = json.loads((REPO / "deploy" / "package.json").read_text())
    assert "configurable-http-proxy" in package["dependencies"]
    assert (REPO / "deploy" / "package-lock.json").is_file()
    assert (REPO / "deploy" / "z2jh-values.yaml").is_file()
