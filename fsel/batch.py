"""Scheduled batch jobs (``fsel batch``): a TOML file of evaluate/report runs and their ledger.

A jobs file names an output root and a list of jobs; each job is one ``fsel evaluate``
or ``fsel report`` run whose options are spelled as on the command line. Each job runs in
its own process, writes its outputs to ``ROOT/<job name>/`` (atomically: the command writes
to a temporary folder and renames it when done) and is recorded in an SQLite ledger at
``ROOT/ledger.sqlite``. A job whose key (its options, its input file's content and the
fsel version) already succeeded is skipped; a job interrupted by a crash or ``kill -9``
is run again next time; two batch processes on one root never run the same job at once
(an advisory lock per job, released by the kernel if its holder dies).
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import hashlib
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from fsel.exceptions import FselInputError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

COMMANDS = ("evaluate", "report")
JOB_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
TOP_LEVEL_KEYS = {"root", "defaults", "job"}
# Keys a job may not set: fsel chooses them (the output folder, the terminal output).
RESERVED_OPTIONS = {"out", "format", "quiet", "help"}

LEDGER_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    job      TEXT NOT NULL,
    key      TEXT NOT NULL,
    status   TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'interrupted')),
    started  TEXT NOT NULL,
    ended    TEXT,
    pid      INTEGER,
    error    TEXT,
    outputs  TEXT
);
CREATE INDEX IF NOT EXISTS runs_by_job ON runs (job, key, status);
"""


@dataclass(frozen=True)
class Job:
    """One declared job: a command, its data and its options as on the command line."""

    name: str
    command: str
    data: str
    options: dict = field(default_factory=dict)

    def arguments(self, out: Path) -> list[str]:
        """The command line that runs this job, writing to ``out``."""
        args = [self.command, self.data]
        for key, value in sorted(self.options.items()):
            flag = "--" + key
            if isinstance(value, bool):
                if value:
                    args.append(flag)
            elif isinstance(value, list):
                if _option_is_multiple(self.command, key):
                    for item in value:
                        args += [flag, str(item)]
                else:
                    args += [flag, ",".join(map(str, value))]
            else:
                args += [flag, str(value)]
        args += ["--out", str(out)]
        if _command_has_option(self.command, "quiet"):
            args.append("--quiet")
        return args


@dataclass(frozen=True)
class JobsFile:
    """A parsed jobs file: where outputs go and the jobs, in file order."""

    path: Path
    root: Path
    jobs: tuple[Job, ...]


# --------------------------------------------------------------------------- parsing


def _command_params(command: str) -> dict:
    """The options of ``fsel COMMAND`` by their long flag without dashes (``n-jobs``)."""
    from fsel.cli import cli  # the jobs file speaks the command line's language

    found = cli.commands.get(command)
    if found is None:
        return {}
    params = {}
    for param in found.params:
        if param.param_type_name != "option":
            continue
        for flag in param.opts:
            if flag.startswith("--"):
                params[flag[2:]] = param
    return params


def _option_is_multiple(command: str, key: str) -> bool:
    param = _command_params(command).get(key)
    return bool(param is not None and getattr(param, "multiple", False))


def _command_has_option(command: str, key: str) -> bool:
    return key in _command_params(command)


def load_jobs(path: str | Path) -> JobsFile:
    """Read and check a jobs file; every problem is a one-line :class:`FselInputError`.

    The format::

        root = "runs/nightly"          # output root, relative to this file
        [defaults]                     # options shared by every job (optional)
        seed = 0
        [[job]]
        name = "ckd-evaluate"          # letters, digits, . _ -; the output folder's name
        command = "evaluate"           # or "report"
        data = "ckd"                   # a bundled name or a path, relative to this file
        target = "class"
        selectors = ["lasso", "mi"]    # lists for comma-separated or repeatable options
    """
    path = Path(path)
    if not path.is_file():
        raise FselInputError(f"{path}: no such jobs file.")
    try:
        spec = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise FselInputError(f"{path}: not valid TOML ({error}).") from None
    unknown = sorted(set(spec) - TOP_LEVEL_KEYS)
    if unknown:
        raise FselInputError(
            f"{path}: unknown top-level key(s) {', '.join(unknown)}; use root, defaults, [[job]]."
        )
    if "root" not in spec or not isinstance(spec["root"], str) or not spec["root"].strip():
        raise FselInputError(f'{path}: set root = "DIR", the folder the jobs write into.')
    root = (path.parent / spec["root"]).resolve()
    defaults = spec.get("defaults", {})
    if not isinstance(defaults, dict):
        raise FselInputError(f"{path}: [defaults] must be a table of options.")
    entries = spec.get("job", [])
    if not isinstance(entries, list) or not entries:
        raise FselInputError(f"{path}: declare at least one [[job]].")
    jobs, seen = [], set()
    for number, entry in enumerate(entries, start=1):
        jobs.append(_parse_job(path, number, entry, defaults, seen))
    return JobsFile(path=path, root=root, jobs=tuple(jobs))


def _parse_job(path: Path, number: int, entry: dict, defaults: dict, seen: set) -> Job:
    where = f"{path}: job {number}"
    name = entry.get("name")
    if not isinstance(name, str) or not JOB_NAME.match(name) or name in (".", ".."):
        raise FselInputError(
            f"{where}: name {name!r} must be letters, digits, '.', '_' or '-' "
            "(it names the job's folder under root, so no '/' or '..')."
        )
    if name in seen:
        raise FselInputError(f"{where}: the name {name!r} is used twice.")
    seen.add(name)
    where = f"{path}: job {name!r}"
    command = entry.get("command")
    if command not in COMMANDS:
        raise FselInputError(f"{where}: command must be one of {', '.join(COMMANDS)}.")
    data = entry.get("data")
    if not isinstance(data, str) or not data:
        raise FselInputError(f"{where}: set data = a file path or a bundled dataset's name.")
    candidate = path.parent / data
    if candidate.exists():
        data = str(candidate.resolve())
    params = _command_params(command)
    options = {}
    for key, value in {**defaults, **entry}.items():
        if key in ("name", "command", "data"):
            continue
        option = key.replace("_", "-")
        if key not in entry and option not in params and _taken_by_another_command(option):
            continue  # a default meant for the other command (e.g. backend for evaluate)
        if option in RESERVED_OPTIONS:
            raise FselInputError(
                f"{where}: {key!r} is set by fsel batch (outputs go to root/name)."
            )
        if option not in params:
            valid = sorted(flag for flag in params if flag not in RESERVED_OPTIONS)
            raise FselInputError(
                f"{where}: unknown option {key!r} for fsel {command}; valid: {', '.join(valid)}."
            )
        options[option] = value
    return Job(name=name, command=command, data=data, options=options)


def _taken_by_another_command(option: str) -> bool:
    return any(option in _command_params(command) for command in COMMANDS)


# --------------------------------------------------------------------------- keys and ledger


def job_key(job: Job) -> str:
    """A hash of what determines a job's result: its command and options, its input's
    content and the fsel version."""
    from fsel import __version__

    digest = hashlib.sha256()
    digest.update(json.dumps([job.command, job.options], sort_keys=True, default=str).encode())
    digest.update(__version__.encode())
    data = Path(job.data)
    if data.is_file():
        with open(data, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    else:  # a bundled dataset: its name and the fsel version identify it
        digest.update(job.data.encode())
    return digest.hexdigest()[:16]


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime())


@contextlib.contextmanager
def open_ledger(root: Path) -> Iterator[sqlite3.Connection]:
    """The ledger database at ``ROOT/ledger.sqlite``, created on first use."""
    root.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(root / "ledger.sqlite", timeout=30, isolation_level=None)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.executescript(LEDGER_SCHEMA)
        connection.row_factory = sqlite3.Row
        yield connection
    finally:
        connection.close()


def ledger_rows(root: Path) -> list[dict]:
    """Every run recorded under ``root``, oldest first."""
    if not (root / "ledger.sqlite").exists():
        return []
    with open_ledger(root) as ledger:
        return [dict(row) for row in ledger.execute("SELECT * FROM runs ORDER BY id")]


@contextlib.contextmanager
def _job_lock(root: Path, name: str) -> Iterator[bool]:
    """Try to take the job's advisory lock; yields whether it was taken."""
    locks = root / ".locks"
    locks.mkdir(parents=True, exist_ok=True)
    with open(locks / f"{name}.lock", "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# --------------------------------------------------------------------------- running


@dataclass
class JobOutcome:
    name: str
    status: str  # succeeded, failed, skipped, busy
    seconds: float = 0.0
    error: str | None = None


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Ask Linux to kill this child if the batch process dies (even by SIGKILL)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def run_batch(
    jobs_file: JobsFile,
    *,
    force: bool = False,
    only: tuple[str, ...] = (),
    on_event: Callable[[str, Job, JobOutcome | None], None] | None = None,
) -> list[JobOutcome]:
    """Run the jobs of ``jobs_file`` that are not already done; return one outcome each.

    ``on_event(kind, job, outcome)`` is called with ``"start"`` before a job runs and
    ``"end"`` after (or when it is skipped); the library itself prints nothing.
    """
    names = [job.name for job in jobs_file.jobs]
    unknown = sorted(set(only) - set(names))
    if unknown:
        raise FselInputError(
            f"--only {', '.join(unknown)}: no such job; jobs: {', '.join(names)}."
        )
    root = jobs_file.root
    root.mkdir(parents=True, exist_ok=True)
    (root / ".logs").mkdir(exist_ok=True)
    outcomes = []
    for job in jobs_file.jobs:
        if only and job.name not in only:
            continue
        outcome = _run_one(root, job, force, on_event)
        outcomes.append(outcome)
        if on_event is not None:
            on_event("end", job, outcome)
    return outcomes


def _run_one(root: Path, job: Job, force: bool, on_event) -> JobOutcome:
    key = job_key(job)
    with _job_lock(root, job.name) as locked:
        if not locked:
            return JobOutcome(job.name, "busy", error="another batch process is running it")
        with open_ledger(root) as ledger:
            # Rows left 'running' by a process that died: its lock is free, we hold it now.
            ledger.execute(
                "UPDATE runs SET status='interrupted', ended=?, error='the run was killed "
                "before it finished' WHERE job=? AND status='running'",
                (_now(), job.name),
            )
            done = ledger.execute(
                "SELECT 1 FROM runs WHERE job=? AND key=? AND status='succeeded' LIMIT 1",
                (job.name, key),
            ).fetchone()
            if done and not force and (root / job.name).is_dir():
                return JobOutcome(job.name, "skipped")
            run_id = ledger.execute(
                "INSERT INTO runs (job, key, status, started, pid) VALUES (?, ?, 'running', ?, ?)",
                (job.name, key, _now(), os.getpid()),
            ).lastrowid
        _remove_stale_temporaries(root, job.name)
        if on_event is not None:
            on_event("start", job, None)
        started = time.perf_counter()
        out = root / job.name
        log_path = root / ".logs" / f"{job.name}.log"
        with open(log_path, "w") as log:
            completed = subprocess.run(
                [sys.executable, "-m", "fsel.cli", *job.arguments(out)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.PIPE,
                text=True,
                preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
                check=False,
            )
            log.write(completed.stderr)
        seconds = time.perf_counter() - started
        error = None
        if completed.returncode != 0:
            error = _last_error_line(completed.stderr) or f"exit code {completed.returncode}"
        status = "succeeded" if error is None and out.is_dir() else "failed"
        if status == "failed" and error is None:
            error = "the command finished but wrote no output folder"
        outputs = (
            sorted(str(p.relative_to(root)) for p in out.rglob("*"))
            if status == "succeeded"
            else []
        )
        with open_ledger(root) as ledger:
            ledger.execute(
                "UPDATE runs SET status=?, ended=?, error=?, outputs=? WHERE id=?",
                (status, _now(), error, json.dumps(outputs), run_id),
            )
        return JobOutcome(job.name, status, seconds, error)


def _last_error_line(stderr: str) -> str | None:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for line in reversed(lines):
        if line.startswith("fsel: error:"):
            return line.removeprefix("fsel: error:").strip()
    return lines[-1] if lines else None


def _remove_stale_temporaries(root: Path, name: str) -> None:
    """Temporary folders a killed run of this job left behind (``.NAME.*.part``)."""
    for stale in root.glob(f".{name}.*.part"):
        shutil.rmtree(stale, ignore_errors=True)
