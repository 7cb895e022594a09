"""Shared test helpers: run the real ``fsel`` command line in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass

import pytest


@dataclass
class Completed:
    code: int
    stdout: str
    stderr: str


@pytest.fixture
def run_fsel(tmp_path):
    """Run ``fsel ARGS...`` as a user would (a new process) inside ``tmp_path``."""

    def run(*args: str, cwd=None, timeout: float = 600) -> Completed:
        env = {**os.environ, "PYTHONWARNINGS": "ignore"}
        done = subprocess.run(
            [sys.executable, "-m", "fsel.cli", *map(str, args)],
            cwd=cwd or tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        return Completed(done.returncode, done.stdout, done.stderr)

    return run
