"""Start-up benchmark: fresh processes, each against a baseline timed in the same run.

1. `upperback assess --json` against `python -c "import pandas"`. Goal <= 0.5.
2. Building the assessment dashboard (`build_assessment()`) against
   `python -c "import ipywidgets"`. Goal <= 2.5.

The knowledge base is validated (and stamped) once first, as `upperback validate`, publish or
the tests leave it: loading stamped content never imports frictionless or jsonschema.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import upperback

ROUNDS = 9
UPPERBACK = str(Path(sys.executable).with_name("upperback"))


def _seconds(cmd: list[str], env: dict[str, str]) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=env)
    return time.perf_counter() - t


def _race(pairs: dict[str, list[str]], env: dict[str, str]) -> dict[str, float]:
    """Median wall time of each command, run in alternation so load hits all alike."""
    times: dict[str, list[float]] = {name: [] for name in pairs}
    for cmd in pairs.values():  # one untimed run each: the OS file cache warm
        _seconds(cmd, env)
    for _ in range(ROUNDS):
        for name, cmd in pairs.items():
            times[name].append(_seconds(cmd, env))
    return {name: statistics.median(ts) for name, ts in times.items()}


def main() -> None:
    problems = upperback.validate_knowledge_base()
    if problems:
        sys.exit(f"the knowledge base does not validate: run `upperback validate` ({problems[0]})")
    env = dict(os.environ, JUPYTER_PLATFORM_DIRS="1")
    env.pop("PYTHONWARNINGS", None)
    with tempfile.TemporaryDirectory() as tmp:
        answers = Path(tmp) / "answers.json"
        answers.write_text('{"fever": true, "recent_trauma": false}')
        t = _race({
            "assess": [UPPERBACK, "assess", "--answers", str(answers), "--json"],
            "pandas": [sys.executable, "-c", "import pandas"],
            "dashboard": [sys.executable, "-c",
                          "from upperback.widgets import build_assessment; build_assessment()"],
            "ipywidgets": [sys.executable, "-c", "import ipywidgets"],
        }, env)
    for name, (what, base, goal) in {
        "cold `upperback assess --json`": ("assess", "pandas", 0.5),
        "dashboard build in a fresh process": ("dashboard", "ipywidgets", 2.5),
    }.items():
        ratio = t[what] / t[base]
        print(f"{name}: {t[what]:.2f} s; baseline `import {base}`: {t[base]:.2f} s; "
              f"ratio {ratio:.2f} (goal <= {goal}): {'MET' if ratio <= goal else 'NOT MET'}")


if __name__ == "__main__":
    main()
