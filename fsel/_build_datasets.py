"""Rebuild the bundled CSVs in ``datasets/`` from the raw published files (``make datasets``)."""

from __future__ import annotations

import argparse
import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from fsel._io import atomic_file
from fsel.exceptions import FselInputError

_REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SHARED_DIR = _REPO_ROOT.parent / "shared" / "datasets"
DEFAULT_OUT_DIR = _REPO_ROOT / "datasets"

CKD_RAW = Path("ckd") / "chronic_kidney_disease_full.arff"
ALZHEIMERS_RAW = Path("alzheimers") / "ad_data.csv"

# A plain decimal number as the raw files write them; anything else in a numeric
# column is a parsing problem we want to hear about, not a value to coerce.
_NUMBER = re.compile(r"-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?")
_ARFF_ATTRIBUTE = re.compile(
    r"@attribute\s+(?:'(?P<q1>[^']+)'|\"(?P<q2>[^\"]+)\"|(?P<bare>\S+))\s+(?P<type>.+)",
    re.IGNORECASE,
)
_ARFF_NUMERIC_TYPES = {"numeric", "real", "integer"}


@dataclass(frozen=True)
class ArffAttribute:
    """One ``@attribute`` line: a name and either ``levels`` (nominal) or none (numeric)."""

    name: str
    levels: tuple[str, ...] | None


def _clean(field: str) -> str:
    # The CKD file has tabs and spaces inside fields (" yes", "\tno", "ckd\t");
    # quotes are ARFF's way to protect a value and carry no meaning of their own.
    field = field.strip()
    if len(field) >= 2 and field[0] == field[-1] and field[0] in "'\"":
        field = field[1:-1].strip()
    return field


def _parse_attribute(line: str, source: str, line_number: int) -> ArffAttribute:
    match = _ARFF_ATTRIBUTE.fullmatch(line)
    if match is None:
        raise FselInputError(f"{source}:{line_number}: cannot read the @attribute line {line!r}")
    name = match["q1"] or match["q2"] or match["bare"]
    kind = match["type"].strip()
    if kind.startswith("{") and kind.endswith("}"):
        levels = tuple(_clean(level) for level in kind[1:-1].split(","))
        return ArffAttribute(name, levels)
    if kind.lower() in _ARFF_NUMERIC_TYPES:
        return ArffAttribute(name, None)
    raise FselInputError(f"{source}:{line_number}: unsupported ARFF type {kind!r} for {name!r}")


def _split_row(line: str, n_attributes: int, source: str, line_number: int) -> list[str]:
    fields = [_clean(field) for field in line.split(",")]
    # ARFF writes a missing value as "?", so an empty field is never a value: when a row
    # has too many fields, the empty ones are stray commas (a trailing "ckd," or a
    # doubled ",," in the UCI file). Drop them from the end first.
    while len(fields) > n_attributes and "" in fields:
        last_empty = len(fields) - 1 - fields[::-1].index("")
        del fields[last_empty]
    if len(fields) != n_attributes:
        raise FselInputError(
            f"{source}:{line_number}: expected {n_attributes} fields, found {len(fields)}"
        )
    return fields


def parse_arff(text: str, source: str = "<arff>") -> tuple[list[ArffAttribute], list[list]]:
    """Read an ARFF file's attributes and rows, tolerating the quirks of hand-edited files.

    Every value is returned as a cleaned string (its level or numeric token as written),
    or ``None`` when missing (``?``, or an empty field in a row of the right length).
    A nominal value outside its declared levels or a numeric field that is not a number
    raises :class:`~fsel.exceptions.FselInputError` naming the line.
    """
    attributes: list[ArffAttribute] = []
    rows: list[list] = []
    in_data = False
    for line_number, raw_line in enumerate(text.splitlines(), start=1):
        line = raw_line.strip()
        if not line or line.startswith("%"):
            continue
        if not in_data:
            keyword = line.split(maxsplit=1)[0].lower()
            if keyword == "@attribute":
                attributes.append(_parse_attribute(line, source, line_number))
            elif keyword == "@data":
                in_data = True
            continue
        fields = _split_row(line, len(attributes), source, line_number)
        row = []
        for attribute, value in zip(attributes, fields, strict=True):
            if value in ("?", ""):
                row.append(None)
            elif attribute.levels is not None and value not in attribute.levels:
                raise FselInputError(
                    f"{source}:{line_number}: {value!r} is not a level of {attribute.name!r} "
                    f"({', '.join(attribute.levels)})"
                )
            elif attribute.levels is None and not _NUMBER.fullmatch(value):
                raise FselInputError(
                    f"{source}:{line_number}: {value!r} in numeric column {attribute.name!r}"
                )
            else:
                row.append(value)
        rows.append(row)
    if not in_data:
        raise FselInputError(f"{source}: no @data section")
    return attributes, rows


def _csv_text(header: Sequence[str], rows: Sequence[Sequence]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([["" if value is None else value for value in row] for row in rows])
    return buffer.getvalue()


def _check_counts(name: str, values: Sequence, expected: dict[str, int]) -> None:
    counts = {level: list(values).count(level) for level in set(values)}
    if counts != expected:
        raise FselInputError(f"{name}: expected class counts {expected}, found {counts}")


def build_ckd(raw_path: Path, out_path: Path) -> Path:
    """Write the UCI chronic-kidney-disease ARFF as a clean CSV (400 rows, target ``class``)."""
    text = Path(raw_path).read_text(encoding="utf-8")
    attributes, rows = parse_arff(text, source=str(raw_path))
    header = [attribute.name for attribute in attributes]
    if len(rows) != 400 or header[-1] != "class":
        raise FselInputError(f"{raw_path}: expected 400 rows ending in 'class', got {len(rows)}")
    _check_counts(str(raw_path), [row[-1] for row in rows], {"ckd": 250, "notckd": 150})
    with atomic_file(out_path, "wb") as file:
        file.write(_csv_text(header, rows).encode("utf-8"))
    return out_path


def build_alzheimers(raw_path: Path, out_path: Path) -> Path:
    """Write the ``modeldata::ad_data`` table as a clean CSV (333 rows, target ``Class``)."""
    with open(raw_path, encoding="utf-8", newline="") as file:
        header, *rows = [[cell.strip() for cell in row] for row in csv.reader(file) if row]
    text_columns = {"Genotype", "Class"}
    for line_number, row in enumerate(rows, start=2):
        if len(row) != len(header):
            raise FselInputError(
                f"{raw_path}:{line_number}: expected {len(header)} fields, found {len(row)}"
            )
        for column, value in zip(header, row, strict=True):
            if column not in text_columns and value and not _NUMBER.fullmatch(value):
                raise FselInputError(f"{raw_path}:{line_number}: {value!r} in column {column!r}")
    if len(rows) != 333:
        raise FselInputError(f"{raw_path}: expected 333 rows, found {len(rows)}")
    _check_counts(
        str(raw_path),
        [row[header.index("Class")] for row in rows],
        {"Impaired": 91, "Control": 242},
    )
    with atomic_file(out_path, "wb") as file:
        file.write(_csv_text(header, rows).encode("utf-8"))
    return out_path


def build_all(
    shared_dir: Path = DEFAULT_SHARED_DIR, out_dir: Path = DEFAULT_OUT_DIR
) -> list[Path]:
    """Rebuild every bundled CSV from ``shared_dir`` into ``out_dir``; returns the paths written."""
    shared_dir, out_dir = Path(shared_dir), Path(out_dir)
    if not shared_dir.is_dir():
        raise FselInputError(f"raw dataset folder not found: {shared_dir}")
    for raw in (CKD_RAW, ALZHEIMERS_RAW):
        if not (shared_dir / raw).is_file():
            raise FselInputError(f"raw dataset file not found: {shared_dir / raw}")
    return [
        build_ckd(shared_dir / CKD_RAW, out_dir / "ckd.csv"),
        build_alzheimers(shared_dir / ALZHEIMERS_RAW, out_dir / "alzheimers.csv"),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry: ``python -m fsel._build_datasets [--shared DIR] [--out DIR]``."""
    parser = argparse.ArgumentParser(
        prog="python -m fsel._build_datasets",
        description="Rebuild datasets/*.csv from the raw published files.",
    )
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED_DIR, help="raw files")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT_DIR, help="where the CSVs go")
    args = parser.parse_args(argv)
    try:
        written = build_all(args.shared, args.out)
    except FselInputError as error:
        parser.exit(2, f"error: {error}\n")
    # A developer tool run by `make datasets`: saying what it wrote is its whole output.
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
