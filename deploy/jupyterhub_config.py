"""JupyterHub for a small clinic (`make hub`): sign-in with administrator approval, one Voila
dashboard server per clinician, idle servers culled.

Settings come from the environment, so nothing secret is committed:
  UPPERBACK_HUB_PORT   public port on 127.0.0.1 (default 8000); the proxy's API uses PORT+1
                       and the hub's own API PORT+2
  UPPERBACK_HUB_ADMIN  the first administrator's user name: that name signs up at
                       /hub/signup and approves everyone else at /hub/authorize
  UPPERBACK_HUB_STATE  where the user database, cookie secret and homes live
                       (default deploy/state/, never committed)
  UPPERBACK_HUB_IDLE   seconds before an idle clinician's server is stopped (default 1800)
The same settings map onto Zero to JupyterHub's values.yaml (see deploy/z2jh-values.yaml).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
BIN = Path(sys.executable).parent
STATE = Path(os.environ.get("UPPERBACK_HUB_STATE") or HERE / "state")
PORT = int(os.environ.get("UPPERBACK_HUB_PORT") or 8000)
IDLE = int(os.environ.get("UPPERBACK_HUB_IDLE") or 1800)
ADMIN = os.environ.get("UPPERBACK_HUB_ADMIN", "").strip()
STATE.mkdir(mode=0o700, parents=True, exist_ok=True)

c = get_config()  # type: ignore[name-defined]  # noqa: F821 (JupyterHub provides it)

# -- network: loopback only; put TLS and a public name in front for a real site ---------------
c.JupyterHub.bind_url = f"http://127.0.0.1:{PORT}"
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{PORT + 1}"
c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{PORT + 2}"
c.ConfigurableHTTPProxy.command = [str(HERE / "node_modules" / ".bin" / "configurable-http-proxy")]
c.ConfigurableHTTPProxy.pid_file = str(STATE / "proxy.pid")
c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(STATE / "jupyterhub.pid")
c.JupyterHub.template_paths = [str(HERE / "templates")]  # error pages send visitors to sign in

# -- sign-in: accounts need an administrator's approval; no password is ever committed --------
c.JupyterHub.authenticator_class = "native"
c.NativeAuthenticator.open_signup = False  # every sign-up waits for approval at /hub/authorize
c.NativeAuthenticator.minimum_password_length = 10
c.NativeAuthenticator.check_common_password = True
c.NativeAuthenticator.allowed_failed_logins = 5
c.NativeAuthenticator.seconds_before_next_try = 600
c.Authenticator.allow_all = True  # approved accounts only: NativeAuthenticator refuses the rest
c.Authenticator.admin_users = {ADMIN} if ADMIN else set()

# -- one dashboard server per clinician -------------------------------------------------------
# SimpleLocalProcessSpawner runs every server as this machine's user (no system accounts
# needed); each gets its own process, port, home and kernels, and the hub lets only its owner
# (and administrators) in. For separation by operating-system account or container, use
# LocalProcessSpawner/SystemdSpawner or Kubernetes (Zero to JupyterHub).
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = str(STATE / "homes" / "{username}")
c.Spawner.cmd = [str(BIN / "jupyterhub-singleuser")]
c.Spawner.notebook_dir = str(REPO / "notebooks" / "clinician")
c.Spawner.default_url = "/voila/render/assessment.ipynb"
c.Spawner.args = [
    # Voila (a server extension of the single-user server) renders the dashboards; the Lab
    # interface and terminals are off: clinicians get dashboards, not a code editor.
    "--ServerApp.jpserver_extensions={'jupyterlab': False, 'jupyter_lsp': False,"
    " 'notebook_shim': False, 'jupyter_server_terminals': False, 'voila': True}",
    "--ServerApp.terminals_enabled=False",
    # As standalone Voila does: no MathJax from a public CDN (the dashboards show no formulas).
    "--ServerApp.tornado_settings={'mathjax_url': None, 'mathjax_config': None}",
    "--VoilaConfiguration.template=upperback",
    "--VoilaConfiguration.strip_sources=True",
    "--VoilaConfiguration.show_tracebacks=False",
    "--VoilaConfiguration.file_allowlist=[]",
    "--VoilaConfiguration.file_denylist=['.*']",
    "--ContentsManager.allow_hidden=False",
    # End kernels a clinician walked away from (answers live only in the kernel).
    f"--MappingKernelManager.cull_idle_timeout={IDLE}",
    "--MappingKernelManager.cull_interval=300",
    "--MappingKernelManager.cull_connected=False",
]
if os.geteuid() == 0:  # a container or test machine run as root; never needed otherwise
    c.Spawner.args.append("--ServerApp.allow_root=True")
c.Spawner.environment = {"JUPYTER_PLATFORM_DIRS": "1"}
for name in ("UPPERBACK_DATA", "UPPERBACK_EMERGENCY_NUMBER"):
    if os.environ.get(name):
        c.Spawner.environment[name] = os.environ[name]
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
c.Spawner.mem_limit = "1G"  # advisory with this spawner; enforced on Kubernetes
c.JupyterHub.redirect_to_server = True

# -- idle servers are stopped (jupyterhub-idle-culler) ---------------------------------------
c.JupyterHub.services = [{
    "name": "idle-culler",
    "command": [sys.executable, "-m", "jupyterhub_idle_culler", f"--timeout={IDLE}",
                "--cull-every=300"],
}]
c.JupyterHub.load_roles = [{
    "name": "idle-culler",
    "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
    "services": ["idle-culler"],
}]
