"""`alertd baseline list|show|capture|delete` as users run it: exit codes and output."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from pathlib import Path

from alertd.model import Labels
from alertd.store import Store
from tests.cli import helpers

RULES = '''\
baseline "train" {
  file = "train.csv"
  bins = 4
}
baseline "live" {
  captured = true
  bins     = 4
}
alert Drift {
  when = psi(fv[1h], baseline="train") by (feature) > 0.25
}
'''
TRAIN = "age,plan\n" + "".join(f"{20 + i},{'ab'[i % 2]}\n" for i in range(40))


def alertd(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    config = () if args[0] == "--help" else ("--config", "alertd.yml")
    return helpers.alertd("baseline", *args, *config, cwd=cwd)


def setup(tmp_path: Path) -> Path:
    (tmp_path / "a.rules").write_text(RULES)
    (tmp_path / "train.csv").write_text(TRAIN)
    (tmp_path / "alertd.yml").write_text(
        "storage: sqlite:///state/alertd.db\nrule_files: ['*.rules']\n"
        "sources:\n  prometheus: {enabled: false}\n")
    return tmp_path


def save_windows(tmp_path: Path, now: float) -> None:
    """Pushed samples as the daemon saves them: two features of the churn model."""
    async def save() -> None:
        async with await Store.open(f"sqlite:///{tmp_path}/state/alertd.db") as store:
            series = []
            for feature, base in (("age", 20.0), ("income", 1000.0)):
                labels = Labels({"__name__": "fv", "model": "churn", "feature": feature})
                times = [now - 3600 + 60 * i for i in range(60)]
                series.append((labels, times, [base + i for i in range(60)]))
            other = Labels({"__name__": "fv", "model": "fraud", "feature": "age"})
            series.append((other, [now - 60], [1.0]))
            await store.windows.save(series)

    asyncio.run(save())


def test_help_names_the_commands_and_exit_codes(tmp_path: Path) -> None:
    result = alertd("--help", cwd=tmp_path)
    assert result.returncode == 0
    for word in ("list", "show", "capture", "delete", "3 no such baseline"):
        assert word in result.stdout


def test_without_a_database_list_fails_clearly(tmp_path: Path) -> None:
    result = alertd("list", cwd=setup(tmp_path))
    assert result.returncode == 1
    assert "storage: no database at" in result.stderr
    assert "Traceback" not in result.stderr


def test_capture_list_show_delete(tmp_path: Path) -> None:
    setup(tmp_path)
    now = time.time()
    save_windows(tmp_path, now)
    made = alertd("capture", "live", "--from", "-2h", 'fv{model="churn"}', cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert made.stdout == "live@1: 2 features (age, income)\n"
    made = alertd("capture", "train", cwd=tmp_path)
    assert (made.returncode, made.stdout) == (0, "train@1: 2 features (age, plan)\n")
    again = alertd("capture", "train", cwd=tmp_path)
    assert again.stdout == "train@1: 2 features (age, plan)\n"  # the file did not change

    listed = alertd("list", "--format", "json", cwd=tmp_path)
    assert listed.returncode == 0
    versions = json.loads(listed.stdout)
    assert [(v["name"], v["version"], v["kind"]) for v in versions] == [
        ("live", 1, "capture"), ("train", 1, "file")]
    live = versions[0]
    assert live["origin"]["selector"] == 'fv{model="churn"}'
    assert live["origin"]["series"] == 2
    assert [f["name"] for f in live["features"]] == ["age", "income"]
    assert "@" in live["created_by"]
    text = alertd("list", cwd=tmp_path).stdout
    assert text.splitlines()[1].startswith("train@1 ")

    shown = alertd("show", "train", "--format", "json", cwd=tmp_path)
    body = json.loads(shown.stdout)
    age = body["features"][0]
    assert (age["name"], age["kind"], age["cuts"], age["sample_size"]) == (
        "age", "numeric", [29.75, 39.5, 49.25], 40)
    assert "shares 0.25 0.25 0.25 0.25" in alertd("show", "train", cwd=tmp_path).stdout

    assert alertd("show", "nope", cwd=tmp_path).returncode == 3
    assert alertd("show", "train", "--version", "2", cwd=tmp_path).returncode == 3
    assert alertd("delete", "train", "--version", "1", cwd=tmp_path).returncode == 0
    assert alertd("delete", "train", cwd=tmp_path).returncode == 3
    assert alertd("list", "train", cwd=tmp_path).returncode == 3


def test_capture_mistakes(tmp_path: Path) -> None:
    setup(tmp_path)
    save_windows(tmp_path, time.time())
    wrong = alertd("capture", "train", "--from", "-1h", "fv", cwd=tmp_path)
    assert wrong.returncode == 2
    assert "only for blocks with captured = true" in wrong.stderr
    assert alertd("capture", "live", cwd=tmp_path).returncode == 2
    assert alertd("capture", "nope", cwd=tmp_path).returncode == 3
    empty = alertd("capture", "live", "--from", "-1h", 'fv{model="nope"}', cwd=tmp_path)
    assert empty.returncode == 1
    assert "no pushed samples of fv{model=\"nope\"}" in empty.stderr
    bad = alertd("capture", "live", "--from", "-1h", "fv{", cwd=tmp_path)
    assert bad.returncode == 1
    assert 'SELECTOR "fv{"' in bad.stderr
