"""Tests for fsel.data: reading tables, choosing the target, encoding features."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fsel.data import (
    choose_target,
    encode_features,
    infer_task,
    load_dataset,
    prepare_dataset,
    read_table,
)
from fsel.exceptions import FselInputError


@pytest.fixture
def small_frame():
    return pd.DataFrame(
        {
            "age": [50, 61, np.nan, 45, 70, 38],
            "sex": ["m", "f", "f", " m", "f", "m"],
            "stage": ["I", "II", "III", "I", None, "II"],
            "outcome": ["yes", "no", "yes", "no", "yes", "no"],
        }
    )


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".feather", ".arrow"])
def test_every_format_reads_the_same_table(tmp_path, small_frame, suffix):
    path = tmp_path / f"table{suffix}"
    if suffix == ".csv":
        small_frame.to_csv(path, index=False)
    elif suffix == ".parquet":
        small_frame.to_parquet(path)
    else:
        small_frame.to_feather(path)
    dataset = prepare_dataset(read_table(path))
    assert dataset.target == "outcome"
    assert dataset.target_source == "name"
    assert dataset.task == "classification"
    assert dataset.feature_names == ["age", "sex", "stage=I", "stage=II", "stage=III"]
    assert np.isnan(dataset.X.loc[2, "age"])
    # " m" and "m" are one level once stripped; "m" sorts after "f", so it is 1.
    assert dataset.X["sex"].tolist() == [1, 0, 0, 1, 0, 1]
    assert dataset.X.loc[4, ["stage=I", "stage=II", "stage=III"]].isna().all()


def test_semicolon_delimited_csv_is_sniffed(tmp_path):
    path = tmp_path / "semi.csv"
    path.write_text("a;b;label\n1;2;x\n3;4;y\n5;6;x\n")
    dataset = prepare_dataset(read_table(path))
    assert dataset.feature_names == ["a", "b"]


def test_latin1_text_is_decoded(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes(
        "région,b,label\nMünchen,1,x\nKöln,2,y\nMünchen,3,x\nKöln,4,y\n".encode("latin-1")
    )
    dataset = prepare_dataset(read_table(path))
    assert dataset.encodings["région"]["levels"] == ["Köln", "München"]


def test_question_mark_is_missing(tmp_path):
    path = tmp_path / "uci.csv"
    path.write_text("a,b,class\n1,?,x\n?,2,y\n3,4,x\n5,6,y\n")
    dataset = prepare_dataset(read_table(path))
    assert dataset.X.isna().sum().tolist() == [1, 1]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"a,b,c\n", "no rows"),
        (b"\x00\x01\x02\xff" * 50, "binary"),
        (b"a,a,c\n1,2,3\n4,5,6\n", "duplicate column names"),
    ],
)
def test_unreadable_tables_raise_one_line(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(FselInputError, match=message) as caught:
        read_table(path)
    assert "\n" not in str(caught.value)


def test_missing_file_and_unknown_format(tmp_path):
    with pytest.raises(FselInputError, match="no such file"):
        read_table(tmp_path / "nope.csv")
    other = tmp_path / "table.xlsx"
    other.write_bytes(b"PK\x03\x04")
    with pytest.raises(FselInputError, match="unknown format"):
        read_table(other)


def test_nested_parquet_column_is_refused(tmp_path):
    path = tmp_path / "nested.parquet"
    pq.write_table(pa.table({"a": [[1, 2], [3]], "b": [1, 2], "y": [0, 1]}), path)
    with pytest.raises(FselInputError, match="nested"):
        read_table(path)


def test_target_not_found_suggests_close_names(small_frame):
    with pytest.raises(FselInputError, match="did you mean 'outcome'"):
        prepare_dataset(small_frame, target="outcom")


def test_target_matching_ignores_case_and_spaces(small_frame):
    assert prepare_dataset(small_frame, target=" OUTCOME").target == "outcome"


def test_target_fallbacks():
    assert choose_target(["a", "b", "Label"], None) == ("Label", "name")
    assert choose_target(["a", "b", "c"], None) == ("c", "last column")
    assert choose_target(["a", "y", "c"], None, catalog_target="c") == ("c", "catalog")


def test_single_class_and_all_missing_targets(small_frame):
    constant = small_frame.assign(outcome="yes")
    with pytest.raises(FselInputError, match="single class"):
        prepare_dataset(constant)
    empty = small_frame.assign(outcome=None)
    with pytest.raises(FselInputError, match="missing in every row"):
        prepare_dataset(empty)


def test_rows_with_missing_target_are_left_out(small_frame):
    frame = small_frame.copy()
    frame.loc[0, "outcome"] = None
    dataset = prepare_dataset(frame)
    assert dataset.n_missing_target == 1
    assert len(dataset.X) == len(dataset.y) == 5


def test_fewer_than_two_features(small_frame):
    with pytest.raises(FselInputError, match="fewer than two usable"):
        prepare_dataset(small_frame[["age", "outcome"]])


def test_task_inference_and_override():
    assert infer_task(pd.Series(["a", "b"])) == "classification"
    assert infer_task(pd.Series([0, 1, 2, 1, 0, 2, 1, 0])) == "classification"
    assert infer_task(pd.Series(np.linspace(0, 1, 50))) == "regression"
    assert infer_task(pd.Series(np.arange(100))) == "regression"
    frame = pd.DataFrame({"a": range(8), "b": range(8, 0, -1), "y": [0, 1, 2, 1, 0, 2, 1, 0]})
    assert prepare_dataset(frame, task="regression").task == "regression"
    text = pd.DataFrame({"a": range(4), "b": range(4), "y": ["p", "q", "p", "q"]})
    with pytest.raises(FselInputError, match="not numeric"):
        prepare_dataset(text, task="regression")


def test_encoding_drops_identifiers_and_empty_columns():
    frame = pd.DataFrame(
        {
            "id": [f"patient-{i}" for i in range(60)],
            "empty": [None] * 60,
            "dose": [str(i) for i in range(60)],
            "inf": [np.inf] + list(range(59)),
        }
    )
    X, encodings, dropped = encode_features(frame)
    assert list(X.columns) == ["dose", "inf"]
    assert X["dose"].dtype == float
    assert np.isnan(X.loc[0, "inf"])
    assert set(dropped) == {"id", "empty"}
    assert encodings == {}


def test_bundled_ckd_loads_with_its_catalog_target():
    ckd = load_dataset("ckd")
    assert (ckd.target, ckd.task, ckd.positive_label) == ("class", "classification", "ckd")
    assert ckd.X.shape[0] == 400
    assert ckd.y.value_counts().to_dict() == {"ckd": 250, "notckd": 150}
    assert ckd.X.isna().any().any()


def test_bundled_sklearn_dataset_and_unknown_name():
    diabetes = load_dataset("diabetes")
    assert diabetes.task == "regression" and diabetes.X.shape == (442, 10)
    with pytest.raises(FselInputError, match="did you mean 'diabetes'"):
        load_dataset("diabets")


def test_huge_magnitudes_are_scaled_down_keeping_their_order():
    frame = pd.DataFrame({"big": [1e300, -3e299, 5e298, np.nan], "small": [1.0, 2.0, 3.0, 4.0]})
    X, encodings, _ = encode_features(frame)
    assert X["big"].abs().max() <= 1.0
    assert X["big"].iloc[:3].argsort().tolist() == frame["big"].iloc[:3].argsort().tolist()
    assert encodings["big"] == {"kind": "rescaled", "divided_by": 1e300}
    assert X["small"].tolist() == [1.0, 2.0, 3.0, 4.0]
