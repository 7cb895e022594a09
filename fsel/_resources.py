"""Find fsel's shipped data folders (``datasets/``, ``estimators/``) in a checkout or a wheel."""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def shipped_dir(name: str) -> Path:
    """Path of the shipped folder ``name`` ("datasets" or "estimators").

    In a checkout (and an editable install) the folders sit beside the ``fsel``
    package; a wheel carries them inside it as ``fsel/_shipped/<name>``.
    """
    if name not in ("datasets", "estimators"):
        raise ValueError(f"unknown shipped folder {name!r}")
    for candidate in (_PACKAGE_DIR / "_shipped" / name, _PACKAGE_DIR.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"fsel's {name}/ folder is missing from this installation.")
