"""The publish transaction: a lock, a refusal to publish over a newer version, and a folder swap
that leaves either the whole old or the whole new knowledge base whenever the process dies."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

import upperback.publish as pub
from conftest import DATA, LOWER, downgrade_cancer_balance, edit
from upperback import PublishError
from upperback.cli import main
from upperback.editor import WorkingCopy
from upperback.publish import (
    SignOff,
    list_backups,
    lock_path,
    publish_folder,
    publish_lock,
    recover,
)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def leftovers(published: Path) -> list[str]:
    return sorted(p.name for p in published.parent.iterdir()
                  if p.name.startswith(f".{published.name}.") and p != lock_path(published))


def edited(tmp_path: Path, name: str = "edited") -> Path:
    """A copy of data/ with one harmless edit (a label)."""
    folder = tmp_path / name
    shutil.copytree(DATA, folder)
    edit(folder, "triage_rules.csv", "Saddle or leg numbness,", '"Numbness, saddle or legs",')
    return folder


def test_publish_folder_and_base_version(data_copy: Path, tmp_path: Path) -> None:
    source = edited(tmp_path)
    base = pub.folder_version(data_copy)
    result = publish_folder(source, data_copy, reason="wording", editor="A", base_version=base,
                            backup_root=tmp_path / "h")
    assert result.published, result.problems
    assert result.files == ("changelog.csv", "triage_rules.csv")
    assert (data_copy / "triage_rules.csv").read_bytes() == (source /
                                                             "triage_rules.csv").read_bytes()
    assert leftovers(data_copy) == []
    # A second publish made from the old base is refused, whatever it contains.
    before = snapshot(data_copy)
    with pytest.raises(PublishError, match="someone else published since"):
        publish_folder(DATA, data_copy, reason="late", base_version=base,
                       backup_root=tmp_path / "h")
    assert snapshot(data_copy) == before


def test_a_copy_of_an_older_version_is_refused_even_without_base_version(
        data_copy: Path, tmp_path: Path) -> None:
    first, second = edited(tmp_path, "first"), tmp_path / "second"
    shutil.copytree(DATA, second)  # both copied from the same published version
    path = second / "complications.csv"
    path.write_bytes(path.read_bytes().replace(b"Depression and anxiety", b"Low mood", 1))
    assert publish_folder(first, data_copy, reason="one", backup_root=tmp_path / "h").published
    before = snapshot(data_copy)
    with pytest.raises(PublishError, match=r"lacks changelog entry 2 .* older version"):
        publish_folder(second, data_copy, reason="two", backup_root=tmp_path / "h")
    assert snapshot(data_copy) == before


def test_dry_run_writes_nothing(data_copy: Path, tmp_path: Path) -> None:
    before = snapshot(data_copy)
    result = publish_folder(edited(tmp_path), data_copy, reason="try", dry_run=True,
                            backup_root=tmp_path / "h")
    assert not result.published
    assert "Would publish: triage_rules.csv" in result.message
    assert snapshot(data_copy) == before
    assert leftovers(data_copy) == []
    assert not (tmp_path / "h").exists()


def test_a_folder_without_the_changelog_resource_is_refused(data_copy: Path,
                                                             tmp_path: Path) -> None:
    source = edited(tmp_path)
    descriptor = json.loads((source / "datapackage.json").read_text(encoding="utf-8"))
    descriptor["resources"] = [r for r in descriptor["resources"] if r["name"] != "changelog"]
    (source / "datapackage.json").write_text(json.dumps(descriptor), encoding="utf-8")
    (source / "changelog.csv").unlink()
    before = snapshot(data_copy)
    result = publish_folder(source, data_copy, reason="x", backup_root=tmp_path / "h")
    assert not result.published
    assert "changelog" in str(result.problems[0])
    assert snapshot(data_copy) == before


def test_the_lock_serialises_and_times_out(data_copy: Path, tmp_path: Path) -> None:
    source = edited(tmp_path)
    held, release = threading.Event(), threading.Event()

    def holder() -> None:
        with publish_lock(data_copy):
            held.set()
            release.wait(30)

    t = threading.Thread(target=holder)
    t.start()
    try:
        assert held.wait(10)
        before = snapshot(data_copy)
        with pytest.raises(PublishError, match="another publish"):
            publish_folder(source, data_copy, reason="x", lock_wait=0.3,
                           backup_root=tmp_path / "h")
        assert snapshot(data_copy) == before
    finally:
        release.set()
        t.join()
    assert publish_folder(source, data_copy, reason="x", lock_wait=5,
                          backup_root=tmp_path / "h").published


_CONCURRENT = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from upperback import URGENCIES, PublishError
    from upperback.editor import WorkingCopy

    published, go, label = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    wc = WorkingCopy(published, backup_root=published.parent / "history")
    i = next(i for i in range(len(wc.rows("complications")))
             if wc.key_of("complications", i) == "depression")
    wc.set_cell("complications", i, "name", label)
    print("ready", flush=True)
    while not go.exists():
        time.sleep(0.01)
    try:
        r = wc.publish(note=label, editor=label)
        print("published" if r.published else "refused: " + r.message, flush=True)
    except PublishError as exc:
        print("refused: " + str(exc), flush=True)
""")


@pytest.mark.slow
def test_two_publishes_at_once_never_lose_an_edit(data_copy: Path, tmp_path: Path) -> None:
    go = tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-c", _CONCURRENT, str(data_copy), str(go),
                               label], stdout=subprocess.PIPE, text=True)
             for label in ("First label", "Second label")]
    for p in procs:
        assert p.stdout is not None
        assert p.stdout.readline().strip() == "ready"
    go.touch()
    outcomes = []
    for p in procs:
        out, _ = p.communicate(timeout=300)
        outcomes.append(out.strip())
    assert sorted(o.split(":")[0] for o in outcomes) == ["published", "refused"], outcomes
    winner = ("First label", "Second label")[[o == "published" for o in outcomes].index(True)]
    loser = outcomes[[o == "published" for o in outcomes].index(False)]
    assert "someone else published since" in loser
    text = (data_copy / "complications.csv").read_text(encoding="utf-8")
    assert winner in text  # the published edit is there ...
    # ... and the changelog lists exactly the version that has it.
    log = (data_copy / "changelog.csv").read_text(encoding="utf-8").splitlines()
    assert len(log) == len((DATA / "changelog.csv").read_text(encoding="utf-8").splitlines()) + 1
    assert f",{winner},{winner}," in log[-1]
    assert len(list_backups(data_copy.parent / "history")) == 1


def test_an_exception_anywhere_leaves_the_old_folder(data_copy: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    before = snapshot(data_copy)
    calls = {"n": 0}
    real = pub.save_atomic

    def failing(path: Path, data: bytes | str) -> Path:
        calls["n"] += 1
        if calls["n"] == 5:
            raise OSError(28, "No space left on device")
        return real(path, data)

    monkeypatch.setattr(pub, "save_atomic", failing)
    with pytest.raises(OSError, match="No space"):
        publish_folder(edited(tmp_path), data_copy, reason="x", backup_root=tmp_path / "h")
    assert snapshot(data_copy) == before
    assert leftovers(data_copy) == []


def test_fallback_swap_without_rename_exchange(data_copy: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pub, "_exchange", lambda a, b: False)
    source = edited(tmp_path)
    assert publish_folder(source, data_copy, reason="x", backup_root=tmp_path / "h").published
    assert (data_copy / "triage_rules.csv").read_bytes() == (source /
                                                             "triage_rules.csv").read_bytes()
    assert leftovers(data_copy) == []


@pytest.mark.parametrize("via_publish", [False, True])
def test_recover_finishes_a_swap_killed_between_its_renames(data_copy: Path, tmp_path: Path,
                                                            via_publish: bool) -> None:
    # The state the fallback leaves when killed after its first rename: journal written,
    # the published folder moved aside, the staged one not yet in place.
    parent = data_copy.parent
    new = parent / ".data.publishing-x"
    shutil.copytree(edited(tmp_path), new)
    aside = parent / ".data.publishing-x-old"
    (parent / ".data.swap.json").write_text(json.dumps({"new": new.name, "old": aside.name}))
    data_copy.rename(aside)
    if via_publish:  # the next publish recovers first, then finds nothing left to publish
        assert not publish_folder(edited(tmp_path, "again"), data_copy, reason="x",
                                  backup_root=tmp_path / "h").published
    else:
        assert recover(data_copy, tmp_path / "h")
    assert (data_copy / "triage_rules.csv").read_bytes().count(b"Numbness, saddle or legs") == 1
    assert leftovers(data_copy) == []


_KILLED = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    import upperback.publish as pub

    source, published, history, mode = (Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]),
                                        sys.argv[4])
    # Validation is tested elsewhere; here only the writing matters, made slow so that kills
    # land in the middle of it (no knowledge base is loaded: nothing protected to check).
    pub.load_knowledge_base = lambda folder: None
    real = pub.save_atomic
    def slow(path, data):
        time.sleep(0.003)
        return real(path, data)
    pub.save_atomic = slow
    if mode == "fallback":
        pub._exchange = lambda a, b: False
    print("ready", flush=True)
    start = time.perf_counter()
    r = pub.publish_folder(source, published, reason="kill test", editor="test",
                           backup_root=history)
    print("done" if r.published else r.message, time.perf_counter() - start, flush=True)
""")


def _run_child(source: Path, published: Path, history: Path, mode: str,
               kill_after: float | None) -> str:
    proc = subprocess.Popen([sys.executable, "-c", _KILLED, str(source), str(published),
                             str(history), mode], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    if kill_after is None:
        out, _ = proc.communicate(timeout=120)
        return out
    time.sleep(kill_after)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    return ""


@pytest.mark.slow
@pytest.mark.parametrize(("mode", "kills"), [("exchange", 100), ("fallback", 30)])
def test_kill_minus_nine_at_random_instants(tmp_path: Path, mode: str, kills: int) -> None:
    """Kill a publish at random instants: the folder is always the old or the new knowledge
    base, byte for byte (with the exchange, even before anything is recovered), and the next
    publish cleans up what the killed one left."""
    published, history = tmp_path / "data", tmp_path / "history"
    source = edited(tmp_path)
    shutil.copytree(DATA, published)
    old = snapshot(published)
    first = _run_child(source, published, history, mode, None)
    assert first.startswith("done"), first
    new = snapshot(published)
    assert {n for n in new if new[n] != old[n]} == {"triage_rules.csv", "changelog.csv"}
    duration = float(first.split()[-1])
    rnd = random.Random(15)
    seen = {"old": 0, "new": 0, "mid-publish": 0}
    for i in range(kills):
        shutil.rmtree(published)
        shutil.copytree(DATA, published)
        _run_child(source, published, history, mode, rnd.uniform(0, duration * 1.3))
        if mode == "exchange":
            assert published.is_dir(), f"kill {i}: the published folder is missing"
            state = snapshot(published)
            assert state in (old, new), f"kill {i}: a mixed knowledge base"
        if leftovers(published) or list(history.glob(".tmp-*")):
            seen["mid-publish"] += 1  # killed while staging, keeping history or cleaning up
        recover(published, history)
        state = snapshot(published)
        assert state in (old, new), f"kill {i}: a mixed knowledge base after recovery"
        seen["old" if state == old else "new"] += 1
        assert leftovers(published) == [], f"kill {i}"
        assert not list(history.glob(".tmp-*"))
        for b in list_backups(history):  # every kept version is complete
            assert snapshot(b.path) == old
    assert seen["old"], seen  # kills landed before the swap ...
    assert seen["new"], seen  # ... and after it ...
    assert seen["mid-publish"] >= kills // 10, seen  # ... many of them in the middle of writing


def test_cli_publish_history_restore(data_copy: Path, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    source = edited(tmp_path)
    # Downgrade a protected rule and its case: refused without a sign-off, exit 1.
    downgrade_cancer_balance(source)
    before = snapshot(data_copy)
    assert main(["diff", str(data_copy), str(source)]) == 0
    out = capsys.readouterr().out
    assert f"urgency: 'emergency' -> '{LOWER}'" in out
    assert (f"PROTECTED rule:em_cancer_balance downgraded emergency -> {LOWER}  NEEDS "
            "CLINICAL SIGN-OFF") in out
    args = ["publish", str(source), "--data", str(data_copy), "--reason", "NICE review"]
    assert main(args) == 1
    assert "clinical sign-off" in capsys.readouterr().err
    assert snapshot(data_copy) == before
    assert main([*args, "--dry-run", "--signoff-by", "Dr Lee"]) == 0
    assert snapshot(data_copy) == before
    capsys.readouterr()
    assert main([*args, "--signoff-by", "Dr Lee", "--editor", "A. Analyst"]) == 0
    assert "Signed off by Dr Lee" in capsys.readouterr().out
    assert main(["history", "--data", str(data_copy), "--json"]) == 0
    (entry,) = json.loads(capsys.readouterr().out)
    # Restoring the older version re-raises the rule: no sign-off needed for that.
    assert main(["restore", entry["name"], "--data", str(data_copy), "--reason", "undo"]) == 0
    now = snapshot(data_copy)
    assert {n for n in now if now[n] != before[n]} == {"changelog.csv"}
    log = (data_copy / "changelog.csv").read_text(encoding="utf-8")
    assert "Dr Lee" in log
    assert f"Restored backup {entry['name']}: undo" in log


def test_restore_that_weakens_a_protected_rule_needs_a_signoff(data_copy: Path,
                                                               tmp_path: Path) -> None:
    history = tmp_path / "h"
    source = edited(tmp_path)
    downgrade_cancer_balance(source)
    # Publish the weaker version with a sign-off, then the stronger one back ...
    assert publish_folder(source, data_copy, reason="a", backup_root=history,
                          signoff=SignOff("Dr Lee", "a")).published
    with WorkingCopy(data_copy, backup_root=history) as wc:
        for table, key, column in (("triage_rules", "em_cancer_balance", "urgency"),
                                   ("safety_cases", "case_em_cancer_balance", "min_urgency")):
            wc.set_cell(table, next(i for i in range(len(wc.rows(table)))
                                    if wc.key_of(table, i) == key), column, "emergency")
        assert wc.publish(note="back up").published
    # ... restoring the weaker one is a weakening again.
    weaker = next(b for b in list_backups(history)
                  if f"em_cancer_balance,{LOWER},".encode() in (b.path / "triage_rules.csv")
                  .read_bytes())
    result = pub.restore_backup(weaker.name, data_copy, backup_root=history)
    assert not result.published
    assert "rule:em_cancer_balance" in result.message
    assert pub.restore_backup(weaker.name, data_copy, backup_root=history,
                              signoff=SignOff("Dr Lee", "x")).published
