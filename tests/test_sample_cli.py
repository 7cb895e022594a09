"""fsel sample: GAIS from the command line writes the kept rows as they were read."""

from __future__ import annotations

import json

import pandas as pd

from fsel.data import load_dataset


def test_sample_writes_original_rows_and_counts(run_fsel, tmp_path):
    result = run_fsel("sample", "ckd", "--keep", "0.1", "--out", "kept.csv", "--format", "json")
    assert result.code == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["counts_before"] == {"ckd": 250, "notckd": 150}
    assert payload["counts_after"] == {"ckd": 25, "notckd": 15}
    kept = pd.read_csv(tmp_path / "kept.csv")
    assert len(kept) == 40 and kept.columns[0] == "row"
    assert kept["row"].is_unique and kept["row"].between(0, 399).all()
    source = load_dataset("ckd")
    original = source.raw.assign(**{"class": source.y}).loc[kept["row"]]
    for column in ("age", "hemo", "class"):
        pd.testing.assert_series_equal(
            kept[column].reset_index(drop=True),
            original[column].reset_index(drop=True),
            check_names=False,
            check_dtype=False,
        )


def test_sample_table_output_and_parquet(run_fsel, tmp_path):
    result = run_fsel(
        "sample", "alzheimers", "--keep", "30", "--graph", "hash", "--out", "kept.parquet"
    )
    assert result.code == 0, result.stderr
    assert "kept 30 of 333 rows" in result.stdout
    assert "Impaired" in result.stdout and "Control" in result.stdout
    assert len(pd.read_parquet(tmp_path / "kept.parquet")) == 30


def test_sample_refuses_a_regression_target(run_fsel, tmp_path):
    result = run_fsel("sample", "diabetes", "--out", "kept.csv")
    assert result.code == 2
    assert "regression target" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "kept.csv").exists()
