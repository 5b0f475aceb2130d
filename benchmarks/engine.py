"""Engine benchmark: assessments per second and the import time of upperback, each against a
baseline measured in the same run (never a timed test)."""

from __future__ import annotations

import random
import statistics
import subprocess
import sys
import time

import upperback


def _import_ms(module: str, repeats: int = 5) -> float:
    code = f"import time; t = time.perf_counter(); import {module}; " \
           "print((time.perf_counter() - t) * 1000)"
    runs = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                 check=True).stdout) for _ in range(repeats)]
    return statistics.median(runs)


def _answer_sets(kb: upperback.KnowledgeBase, n: int, seed: int = 7) -> list[dict[str, object]]:
    """Partial checklists; half give the age (the "aged N or older" answers follow from it)."""
    rng = random.Random(seed)
    ids = sorted(f for f, x in kb.findings.items() if x.min_age is None)
    out: list[dict[str, object]] = []
    for _ in range(n):
        answers: dict[str, object] = {f: rng.random() < 0.3 for f in ids if rng.random() < 0.6}
        if rng.random() < 0.5:
            answers["age"] = rng.randint(18, 95)
        out.append(answers)
    return out


def main() -> None:
    kb = upperback.load_knowledge_base()
    sets = _answer_sets(kb, 5000)
    for a in sets[:100]:  # warm the per-knowledge-base index
        upperback.assess(a, kb)

    t = time.perf_counter()
    for a in sets:
        upperback.assess(a, kb)
    full = (time.perf_counter() - t) / len(sets)

    t = time.perf_counter()
    for a in sets:
        upperback.triage(a, kb)
    urgency_only = (time.perf_counter() - t) / len(sets)

    ub, pd = _import_ms("upperback"), _import_ms("pandas")
    print("engine benchmark")
    print(f"  assess: {full * 1e6:8.1f} us each, {1 / full:9.0f} per second "
          f"(goal: well under 1000 us)")
    print(f"  baseline triage-only: {urgency_only * 1e6:8.1f} us; full assessment costs "
          f"{full / urgency_only:.1f}x the urgency alone")
    print(f"  import upperback: {ub:.0f} ms vs import pandas {pd:.0f} ms "
          f"(ratio {ub / pd:.2f}; goal < 1)")


if __name__ == "__main__":
    main()
