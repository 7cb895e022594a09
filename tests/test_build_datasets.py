"""Tests for the bundled datasets: the builder, the committed CSVs and the catalog."""

import csv
import sys

import pytest

from fsel._build_datasets import CKD_RAW, DEFAULT_SHARED_DIR, build_all, build_ckd, parse_arff
from fsel._resources import shipped_dir
from fsel.exceptions import FselInputError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DATASETS = shipped_dir("datasets")
REQUIRED_KEYS = {
    "target",
    "task",
    "groups",
    "rows",
    "columns",
    "description",
    "source",
    "license",
    "citation",
}
needs_raw = pytest.mark.skipif(
    not DEFAULT_SHARED_DIR.is_dir(), reason=f"raw datasets not present at {DEFAULT_SHARED_DIR}"
)


def read_rows(name):
    with open(DATASETS / name, encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


def catalog():
    with open(DATASETS / "catalog.toml", "rb") as file:
        return tomllib.load(file)


@needs_raw
def test_rebuilding_gives_the_committed_files_byte_for_byte(tmp_path):
    written = build_all(DEFAULT_SHARED_DIR, tmp_path)
    assert [path.name for path in written] == ["ckd.csv", "alzheimers.csv"]
    for path in written:
        assert path.read_bytes() == (DATASETS / path.name).read_bytes(), path.name


def test_ckd_shape_classes_and_missing_values():
    rows = read_rows("ckd.csv")
    assert len(rows) == 400 and len(rows[0]) == 25
    classes = [row["class"] for row in rows]
    assert (classes.count("ckd"), classes.count("notckd")) == (250, 150)
    assert sum(value == "" for row in rows for value in row.values()) > 0
    assert all(value == value.strip() for row in rows for value in row.values())
    for column in ("age", "bp", "bgr", "sc", "hemo"):
        for row in rows:
            if row[column]:
                float(row[column])


CKD_LEVELS = {
    "sg": {"1.005", "1.010", "1.015", "1.020", "1.025"},
    "al": {"0", "1", "2", "3", "4", "5"},
    "su": {"0", "1", "2", "3", "4", "5"},
    "rbc": {"normal", "abnormal"},
    "pc": {"normal", "abnormal"},
    "pcc": {"present", "notpresent"},
    "ba": {"present", "notpresent"},
    "htn": {"yes", "no"},
    "dm": {"yes", "no"},
    "cad": {"yes", "no"},
    "appet": {"good", "poor"},
    "pe": {"yes", "no"},
    "ane": {"yes", "no"},
    "class": {"ckd", "notckd"},
}


def test_ckd_nominal_columns_hold_only_declared_levels():
    rows = read_rows("ckd.csv")
    for column, allowed in CKD_LEVELS.items():
        assert {row[column] for row in rows} - {""} <= allowed, column


@needs_raw
def test_ckd_levels_are_the_ones_the_arff_declares():
    text = (DEFAULT_SHARED_DIR / CKD_RAW).read_text(encoding="utf-8")
    attributes, _ = parse_arff(text)
    declared = {a.name: set(a.levels) for a in attributes if a.levels is not None}
    assert declared == CKD_LEVELS


def test_alzheimers_shape_and_classes():
    rows = read_rows("alzheimers.csv")
    assert len(rows) == 333 and len(rows[0]) == 131
    classes = [row["Class"] for row in rows]
    assert (classes.count("Impaired"), classes.count("Control")) == (91, 242)
    assert {row["male"] for row in rows} == {"0", "1"}
    assert {row["Genotype"] for row in rows} <= {"E2E2", "E2E3", "E2E4", "E3E3", "E3E4", "E4E4"}


def test_catalog_lists_six_complete_entries():
    entries = catalog()
    assert set(entries) == {"ckd", "alzheimers", "breast_cancer", "wine", "digits", "diabetes"}
    for name, entry in entries.items():
        assert REQUIRED_KEYS <= set(entry), name
        assert ("file" in entry) != ("sklearn" in entry), name
        assert entry["task"] in ("classification", "regression"), name
        if "file" in entry:
            path = DATASETS / entry["file"]
            assert path.is_file(), name
            with open(path, encoding="utf-8", newline="") as file:
                header = next(csv.reader(file))
            assert entry["target"] in header, name
            assert len(header) == entry["columns"], name
            assert set(entry["groups"]) <= set(header), name
    assert entries["breast_cancer"]["positive"] == 0
    assert entries["diabetes"]["task"] == "regression"


@pytest.mark.parametrize("name", ["breast_cancer", "wine", "digits", "diabetes"])
def test_sklearn_entries_match_their_loader(name):
    import sklearn.datasets

    entry = catalog()[name]
    frame = getattr(sklearn.datasets, entry["sklearn"])(as_frame=True).frame
    assert frame.shape == (entry["rows"], entry["columns"])
    assert entry["target"] in frame.columns


ARFF_HEADER = "@relation t\n@attribute 'a' numeric\n@attribute 'b' {yes,no}\n@attribute 'class' {x,y}\n@data\n"


def test_parser_cleans_tabs_spaces_and_stray_commas():
    text = ARFF_HEADER + "1,\tyes,x\t\n2, no,y,\n?,no,,x\n% comment\n\n3.5,?,y\n"
    attributes, rows = parse_arff(text)
    assert [a.name for a in attributes] == ["a", "b", "class"]
    assert rows == [["1", "yes", "x"], ["2", "no", "y"], [None, "no", "x"], ["3.5", None, "y"]]


@pytest.mark.parametrize(
    "row, cause",
    [("1,maybe,x", "not a level"), ("abc,yes,x", "numeric column"), ("1,yes", "expected 3")],
)
def test_parser_refuses_what_it_cannot_clean(row, cause):
    with pytest.raises(FselInputError, match=cause):
        parse_arff(ARFF_HEADER + row + "\n", source="t.arff")


def test_builder_refuses_a_missing_raw_folder(tmp_path):
    with pytest.raises(FselInputError, match="not found"):
        build_all(tmp_path / "nowhere", tmp_path)
    with pytest.raises(FileNotFoundError):
        build_ckd(tmp_path / "missing.arff", tmp_path / "ckd.csv")
