"""fsel batch: the jobs file, the ledger, skipping, reruns, kill -9, locks and bad jobs files."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sklearn.datasets import load_breast_cancer

from fsel.batch import ledger_rows, load_jobs
from fsel.exceptions import FselInputError

FAST = 'selectors = ["mi", "lasso"]\nestimators = ["linear"]\nfolds = 2\nretention = [0.5]\n'


def write_cohort(path: Path, seed: int = 0, rows: int = 120) -> None:
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    frame = X.iloc[:, :6].assign(outcome=y.map({0: "malignant", 1: "benign"}))
    frame.sample(n=rows, random_state=seed).to_csv(path, index=False)


@pytest.fixture
def jobs(tmp_path):
    write_cohort(tmp_path / "site_a.csv", seed=0)
    write_cohort(tmp_path / "site_b.csv", seed=1)
    (tmp_path / "jobs.toml").write_text(
        'root = "out"\n'
        f"[defaults]\n{FAST}"
        '[[job]]\nname = "site-a"\ncommand = "evaluate"\ndata = "site_a.csv"\ntarget = "outcome"\n'
        '[[job]]\nname = "site-b"\ncommand = "evaluate"\ndata = "site_b.csv"\ntarget = "outcome"\n'
        '[[job]]\nname = "broken"\ncommand = "evaluate"\ndata = "site_a.csv"\ntarget = "outcom"\n'
    )
    return tmp_path


def statuses(root: Path) -> list[tuple[str, str]]:
    return [(row["job"], row["status"]) for row in ledger_rows(root)]


def test_batch_runs_records_skips_and_reruns_on_change(run_fsel, jobs):
    first = run_fsel("batch", "jobs.toml", cwd=jobs)
    assert first.code == 1, first.stderr  # one job failed
    root = jobs / "out"
    assert statuses(root) == [
        ("site-a", "succeeded"),
        ("site-b", "succeeded"),
        ("broken", "failed"),
    ]
    broken = ledger_rows(root)[2]
    assert "did you mean 'outcome'" in broken["error"]
    assert broken["ended"] >= broken["started"]
    for name in ("site-a", "site-b"):
        assert {p.name for p in (root / name).iterdir()} >= {"results.parquet", "summary.csv"}
    assert not (root / "broken").exists()

    second = run_fsel("batch", "jobs.toml", cwd=jobs)
    assert second.code == 1  # the broken job fails again; the others are skipped
    assert "site-a: skipped" in second.stdout and "site-b: skipped" in second.stdout
    assert statuses(root)[3:] == [("broken", "failed")]

    write_cohort(jobs / "site_b.csv", seed=2)
    third = run_fsel("batch", "jobs.toml", "--only", "site-a", "--only", "site-b", cwd=jobs)
    assert third.code == 0, third.stderr
    assert statuses(root)[4:] == [("site-b", "succeeded")]

    forced = run_fsel("batch", "jobs.toml", "--only", "site-a", "--force", cwd=jobs)
    assert forced.code == 0
    assert statuses(root)[5:] == [("site-a", "succeeded")]

    shown = run_fsel("batch", "jobs.toml", "--status", cwd=jobs)
    assert shown.code == 0 and shown.stdout.count("succeeded") == 4


def test_sigkill_mid_job_leaves_no_partial_output_and_a_resumable_ledger(run_fsel, tmp_path):
    write_cohort(tmp_path / "cohort.csv", rows=569)
    (tmp_path / "jobs.toml").write_text(
        'root = "out"\n[[job]]\nname = "slow"\ncommand = "evaluate"\ndata = "cohort.csv"\n'
        'target = "outcome"\nselectors = ["rf", "svm-rfe"]\n'
        'estimators = ["random_forest"]\nfolds = 3\n'
    )
    root = tmp_path / "out"
    batch = subprocess.Popen(
        [sys.executable, "-m", "fsel.cli", "batch", "jobs.toml"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and ("slow", "running") not in _statuses_safe(root):
        time.sleep(0.2)
    assert ("slow", "running") in _statuses_safe(root), "the job never started"
    time.sleep(2)  # inside the job, which runs for several seconds even on a fast machine
    os.kill(batch.pid, signal.SIGKILL)
    batch.wait()
    time.sleep(1)  # the job's own process dies with its parent (PR_SET_PDEATHSIG)
    assert not (root / "slow").exists()
    assert statuses(root) == [("slow", "running")]

    rerun = run_fsel("batch", "jobs.toml", cwd=tmp_path)
    assert rerun.code == 0, rerun.stderr
    assert statuses(root) == [("slow", "interrupted"), ("slow", "succeeded")]
    assert {p.name for p in (root / "slow").iterdir()} >= {"results.parquet", "summary.csv"}
    assert not list(root.glob(".slow.*.part")), "a stale temporary folder was left"


def _statuses_safe(root: Path) -> list[tuple[str, str]]:
    try:
        return statuses(root)
    except sqlite3.OperationalError:  # the ledger is being created
        return []


def test_two_batch_processes_never_run_a_job_twice(jobs):
    command = [
        sys.executable,
        "-m",
        "fsel.cli",
        "batch",
        "jobs.toml",
        "--only",
        "site-a",
        "--only",
        "site-b",
    ]
    first = subprocess.Popen(command, cwd=jobs, stdout=subprocess.PIPE, text=True)
    second = subprocess.Popen(command, cwd=jobs, stdout=subprocess.PIPE, text=True)
    outputs = first.communicate(timeout=300)[0] + second.communicate(timeout=300)[0]
    assert first.returncode == 0 and second.returncode == 0
    runs = statuses(jobs / "out")
    assert sorted(runs) == [("site-a", "succeeded"), ("site-b", "succeeded")]
    # Each job ran once; the other process found it busy or already done.
    assert outputs.count(": succeeded") == 2


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (
            'root = "out"\nshedule = "nightly"\n[[job]]\nname="a"\ncommand="evaluate"\ndata="ckd"\n',
            "unknown top-level key",
        ),
        (
            'root = "out"\n[[job]]\nname="a"\ncommand="evaluate"\ndata="ckd"\ncolour="red"\n',
            "unknown option 'colour'",
        ),
        (
            'root = "out"\n[[job]]\nname="../escape"\ncommand="evaluate"\ndata="ckd"\n',
            "no '/' or '..'",
        ),
        (
            'root = "out"\n[[job]]\nname="a"\ncommand="evaluate"\ndata="ckd"\nout="/tmp/x"\n',
            "set by fsel batch",
        ),
        (
            'root = "out"\n[[job]]\nname="a"\ncommand="train"\ndata="ckd"\n',
            "command must be one of",
        ),
        (
            'root = "out"\n[[job]]\nname="a"\ncommand="evaluate"\ndata="ckd"\n[[job]]\nname="a"\n'
            'command="evaluate"\ndata="ckd"\n',
            "used twice",
        ),
        ("[[job]]\nname='a'\ncommand='evaluate'\ndata='ckd'\n", "set root"),
        ('root = "out"\n[[job\n', "not valid TOML"),
    ],
)
def test_bad_jobs_files_are_refused_in_one_line(run_fsel, tmp_path, text, fragment):
    (tmp_path / "jobs.toml").write_text(text)
    with pytest.raises(FselInputError, match=fragment.replace("(", r"\(")):
        load_jobs(tmp_path / "jobs.toml")
    result = run_fsel("batch", "jobs.toml", cwd=tmp_path)
    assert result.code == 2
    assert len(result.stderr.strip().splitlines()) == 1 and fragment in result.stderr
    assert not (tmp_path / "out").exists()


def test_job_options_become_the_command_line(tmp_path):
    (tmp_path / "jobs.toml").write_text(
        'root = "out"\n[defaults]\nseed = 3\n[[job]]\nname = "a"\ncommand = "evaluate"\n'
        'data = "ckd"\nselectors = ["lasso", "mi"]\nn-jobs = 2\n'
    )
    (job,) = load_jobs(tmp_path / "jobs.toml").jobs
    args = job.arguments(tmp_path / "out" / "a")
    assert args[:2] == ["evaluate", "ckd"]
    assert "--selectors" in args and args[args.index("--selectors") + 1] == "lasso,mi"
    assert args[args.index("--seed") + 1] == "3" and args[args.index("--n-jobs") + 1] == "2"
    assert "--quiet" in args


def test_defaults_apply_to_the_commands_that_take_them(tmp_path):
    (tmp_path / "jobs.toml").write_text(
        'root = "out"\n[defaults]\nbackend = "dask"\nbootstrap = 200\n'
        '[[job]]\nname = "e"\ncommand = "evaluate"\ndata = "ckd"\n'
        '[[job]]\nname = "r"\ncommand = "report"\ndata = "ckd"\ngroup = ["htn", "dm"]\n'
    )
    evaluate, report = load_jobs(tmp_path / "jobs.toml").jobs
    assert evaluate.options == {"backend": "dask"}
    assert report.options == {"bootstrap": 200, "group": ["htn", "dm"]}
    args = report.arguments(tmp_path / "out" / "r")
    assert args.count("--group") == 2
    (tmp_path / "bad.toml").write_text(
        'root = "out"\n[defaults]\ncolour = "red"\n'
        '[[job]]\nname = "e"\ncommand = "evaluate"\ndata = "ckd"\n'
    )
    with pytest.raises(FselInputError, match="unknown option 'colour'"):
        load_jobs(tmp_path / "bad.toml")
