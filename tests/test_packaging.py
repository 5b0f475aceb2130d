"""upperback installs like a Jupyter package: one version, the Voila template in the
environment's share/jupyter, the knowledge base inside the wheel."""

from __future__ import annotations

import filecmp
import json
import os
import re
import socket
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

import pytest

import upperback

REPO = Path(__file__).resolve().parents[1]
TEMPLATE = Path("share") / "jupyter" / "voila" / "templates" / "upperback"
#: Hosts a page may name without contacting them (XML namespaces, licence comments).
NOT_FETCHED = ("www.w3.org", "creativecommons.org", "purl.org", "developer.mozilla.org",
               "github.com", "fontawesome.com")


def plain_env() -> dict[str, str]:
    """The environment of a user who has set nothing: no JUPYTER_PATH, no UPPERBACK_DATA."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("JUPYTER_PATH", "UPPERBACK_DATA", "PYTHONWARNINGS")}
    env["JUPYTER_PLATFORM_DIRS"] = "1"
    return env


def test_one_version_source() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert "version" not in project
    assert project["dynamic"] == ["version"]
    assert version("upperback") == upperback.__version__


def test_template_is_installed_into_the_environment() -> None:
    installed = Path(sys.prefix) / TEMPLATE
    names = sorted(str(p.relative_to(REPO / TEMPLATE)) for p in (REPO / TEMPLATE).rglob("*")
                   if p.is_file())
    assert sorted(str(p.relative_to(installed)) for p in installed.rglob("*")
                  if p.is_file()) == names
    stale = [n for n in names if not filecmp.cmp(REPO / TEMPLATE / n, installed / n, False)]
    assert stale == [], f"{stale} changed since the install: run `make install`"


def test_jupyter_finds_the_template_without_jupyter_path() -> None:
    code = ("from jupyter_core.paths import jupyter_path\n"
            "import os\n"
            "print([p for p in jupyter_path('voila', 'templates', 'upperback')"
            " if os.path.isdir(p)])")
    out = subprocess.run([sys.executable, "-c", code], env=plain_env(), check=True,
                         capture_output=True, text=True).stdout
    assert str(Path(sys.prefix) / TEMPLATE) in out


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--disable-pip-version-check", "-w", str(out), str(REPO)],
                   check=True, capture_output=True, env=plain_env())
    (whl,) = out.glob("upperback-*.whl")
    return whl


@pytest.mark.slow
def test_wheel_carries_knowledge_base_template_and_version(wheel: Path) -> None:
    assert wheel.name.startswith(f"upperback-{upperback.__version__}-")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        shipped = {n.removeprefix("upperback/data/") for n in names
                   if n.startswith("upperback/data/")}
        assert shipped == {p.name for p in (REPO / "data").iterdir() if p.is_file()}
        for name in shipped:
            assert zf.read(f"upperback/data/{name}") == (REPO / "data" / name).read_bytes()
        data_root = f"upperback-{upperback.__version__}.data/data/"
        for p in (REPO / TEMPLATE).rglob("*"):
            if p.is_file():
                rel = p.relative_to(REPO)
                assert zf.read(data_root + str(rel)) == p.read_bytes()


@pytest.mark.slow
def test_installed_wheel_defaults_to_its_own_knowledge_base(
    wheel: Path, tmp_path: Path
) -> None:
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--disable-pip-version-check", "--target", str(site), str(wheel)],
                   check=True, capture_output=True)
    env = plain_env() | {"PYTHONPATH": str(site), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    code = ("import upperback, json\n"
            "kb = upperback.load_knowledge_base()\n"
            "print(json.dumps([upperback.__file__, str(upperback.default_data_dir()),"
            " kb.version]))")
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True,
                         capture_output=True, text=True, cwd=tmp_path).stdout
    module, folder, kb_version = json.loads(out)
    assert Path(module).is_relative_to(site)
    assert Path(folder) == site / "upperback" / "data"
    assert kb_version == upperback.load_knowledge_base(REPO / "data").version
    other = tmp_path / "kb"
    other.symlink_to(REPO / "data")
    env["UPPERBACK_DATA"] = str(other)
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True,
                         capture_output=True, text=True, cwd=tmp_path).stdout
    assert Path(json.loads(out)[1]) == other


@pytest.fixture(scope="module")
def plain_voila(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`voila notebooks/clinician` from the project root, as a new user types it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    root = tmp_path_factory.mktemp("nb")
    for nb in (REPO / "notebooks" / "clinician").glob("*.ipynb"):
        (root / nb.name).write_bytes(nb.read_bytes())
    (root / "broken.ipynb").write_text('{"cells": [')
    nb = json.loads((root / "assessment.ipynb").read_text())
    nb["metadata"]["kernelspec"] = {"name": "no-such-kernel", "display_name": "x",
                                    "language": "cobol"}
    (root / "no-kernel.ipynb").write_text(json.dumps(nb))
    log = (root / "voila.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "voila", str(root), "--no-browser", f"--port={port}"],
        cwd=REPO, env=plain_env(), stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(300):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2):
                    break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail(f"voila exited: {(root / 'voila.log').read_text()[-2000:]}")
                time.sleep(0.3)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=120) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        with err:  # an error response holds its connection until closed
            return err.code, err.read().decode()


@pytest.mark.slow
@pytest.mark.parametrize(("path", "status"), [
    ("/", 200),
    ("/voila/render/assessment.ipynb", 200),
    ("/voila/render/treatments.ipynb", 200),
    ("/no/such/page", 404),
    ("/voila/render/missing.ipynb", 404),
    ("/voila/render/broken.ipynb", 400),
    ("/voila/render/no-kernel.ipynb", 500),
])
def test_plain_voila_pages_name_no_other_host(plain_voila: str, path: str, status: int) -> None:
    code, html = _get(plain_voila + path)
    assert code == status
    hosts = set(re.findall(r"""(?:src|href)\s*=\s*["']?//([^/"' )]+)""", html))
    hosts |= set(re.findall(r"https?://([^/\"' )<>]+)", html))
    assert {h for h in hosts if not h.endswith(NOT_FETCHED)} == set()
    if path == "/voila/render/assessment.ipynb":
        assert "upperback" in html
        assert "cdn.jsdelivr.net" not in html
