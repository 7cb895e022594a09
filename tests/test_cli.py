"""The fsel command line as a user meets it: help, listing, selecting, and bad input."""

from __future__ import annotations

import json

import pandas as pd
import pytest


def assert_one_line_error(result, fragment: str) -> None:
    assert result.code == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("fsel: error:")
    assert fragment in lines[0]
    assert "Traceback" not in result.stderr


def test_every_help_carries_an_example(run_fsel):
    for command in ([], ["datasets"], ["select"]):
        result = run_fsel(*command, "--help")
        assert result.code == 0
        assert "Example" in result.stdout


def test_datasets_lists_the_bundled_tables(run_fsel):
    result = run_fsel("datasets")
    assert result.code == 0
    for name in ("ckd", "alzheimers", "breast_cancer", "wine", "digits", "diabetes"):
        assert name in result.stdout
    rows = json.loads(run_fsel("datasets", "--format", "json").stdout)
    ckd = next(row for row in rows if row["name"] == "ckd")
    assert (ckd["rows"], ckd["task"], ckd["target"]) == (400, "classification", "class")


def test_select_ckd_prints_the_kept_features(run_fsel, tmp_path):
    out = tmp_path / "ranking.csv"
    result = run_fsel(
        "select",
        "ckd",
        "--target",
        "class",
        "--selector",
        "lasso",
        "--retention",
        "0.4",
        "--out",
        out,
    )
    assert result.code == 0, result.stderr
    assert "kept 10 of" in result.stdout
    ranking = pd.read_csv(out)
    assert ranking["kept"].sum() == 10
    assert ranking["rank"].tolist() == list(range(1, len(ranking) + 1))
    kept = ranking.loc[ranking["kept"], "feature"].tolist()
    # Haemoglobin and specific gravity separate CKD from controls in this cohort.
    assert {"hemo", "sg"} & set(kept)


def test_select_json_and_inferred_target(run_fsel):
    result = run_fsel(
        "select", "alzheimers", "--selector", "mi", "--retention", "5", "--format", "json"
    )
    assert result.code == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["target"] == "Class" and payload["n_selected"] == 5
    assert len(payload["selected"]) == 5
    assert "using 'Class' as the target" in result.stderr


@pytest.fixture
def tables(tmp_path):
    """A set of bad (and one good) input files, by name."""
    files = {
        "good.csv": "a,b,c,outcome\n1,2,3,x\n4,5,6,y\n7,8,9,x\n1,3,2,y\n",
        "empty.csv": "",
        "header.csv": "a,b,outcome\n",
        "dupes.csv": "a,a,outcome\n1,2,x\n3,4,y\n",
        "single.csv": "a,b,outcome\n1,2,x\n3,4,x\n5,6,x\n",
        "nolabels.csv": "a,b,outcome\n1,2,\n3,4,\n5,6,\n",
        "onefeature.csv": "a,outcome\n1,x\n2,y\n3,x\n",
        "table.xlsx": "PK",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "garbage.csv").write_bytes(bytes(range(256)) * 4)
    return tmp_path


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["missing.csv"], "no such file"),
        (["table.xlsx"], "unknown format"),
        (["garbage.csv"], "binary"),
        (["empty.csv"], "is empty"),
        (["header.csv"], "no rows"),
        (["dupes.csv"], "duplicate column names"),
        (["good.csv", "--target", "outcom"], "did you mean 'outcome'"),
        (["single.csv"], "single class"),
        (["nolabels.csv"], "missing in every row"),
        (["onefeature.csv"], "fewer than two usable"),
        (["good.csv", "--selector", "boruta"], "unknown selector"),
        (["good.csv", "--retention", "1.5"], "fraction must be in (0, 1]"),
        (["good.csv", "--out", "ranking.txt"], "write a .csv or a .json"),
        (["nosuchdataset"], "neither a file nor a bundled dataset"),
    ],
)
def test_bad_input_gets_exit_2_and_one_line(run_fsel, tables, args, fragment):
    before = sorted(path.name for path in tables.iterdir())
    result = run_fsel("select", *args, cwd=tables)
    assert_one_line_error(result, fragment)
    assert sorted(path.name for path in tables.iterdir()) == before


def test_good_table_selects(run_fsel, tables):
    result = run_fsel("select", "good.csv", "--selector", "mi", "--retention", "2", cwd=tables)
    assert result.code == 0, result.stderr
    assert "kept 2 of 3" in result.stdout
