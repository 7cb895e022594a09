"""Read a table (CSV, Parquet, Feather or a bundled name), pick the target, encode the features."""

from __future__ import annotations

import csv
import difflib
import io
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from fsel._resources import shipped_dir
from fsel.exceptions import FselInputError, first_line

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

TASKS = ("classification", "regression")
FORMATS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".feather": "feather",
    ".arrow": "feather",
    ".ipc": "feather",
}
# Column names tried, in this order and in any case, when no target is given.
TARGET_NAMES = ("target", "class", "label", "outcome", "y")
# "?" marks missing values in UCI-style files (the bundled ckd among them).
NULL_MARKERS = ["", "?", "NA", "N/A", "n/a", "NaN", "nan", "null", "NULL", "None", "#N/A", "-"]
# Fewer rows than this cannot be split, scored or ranked meaningfully.
MIN_ROWS = 3
# A numeric target with at most this many distinct integer values is taken as class labels.
MAX_CLASSES_FOR_INTEGER_TARGET = 20
# Columns with larger magnitudes are scaled down (see _finite_numbers).
MAX_MAGNITUDE = 1e30
# A text column with more distinct values than this is an identifier or free text, not a category.
MAX_CATEGORY_LEVELS = 50


@dataclass
class Dataset:
    """A table split into encoded features and a target, ready for the selectors.

    Attributes
    ----------
    name : str
        The bundled dataset's name or the file's stem.
    X : pandas.DataFrame
        Numeric features, one column per input feature: numeric columns as they are
        (infinite values as missing), two-level text columns as 0/1 under their own
        name, other text columns one-hot encoded as ``column=level``. Missing values
        stay NaN: imputation belongs to the modelling pipeline, fitted per fold.
    y : pandas.Series
        The target, with rows whose target is missing removed.
    target : str
        Name of the target column.
    task : {"classification", "regression"}
    target_source : str
        How the target was chosen: ``"given"``, ``"catalog"``, ``"name"`` or ``"last column"``.
    positive_label : object or None
        The positive class of a binary outcome, when known.
    groups : list of str
        Suggested subgroup columns (from the catalog).
    raw : pandas.DataFrame
        The feature columns before encoding, same rows as ``X`` (for cohort tables).
    encodings : dict
        For each encoded text column, its kind (``"binary"`` or ``"onehot"``) and levels.
    dropped : dict
        Columns left out and why (all missing, identifier-like text, nested values).
    n_missing_target : int
        Rows removed because their target was missing.
    """

    name: str
    X: pd.DataFrame
    y: pd.Series
    target: str
    task: str
    target_source: str = "given"
    positive_label: object | None = None
    groups: list[str] = field(default_factory=list)
    raw: pd.DataFrame | None = None
    encodings: dict = field(default_factory=dict)
    dropped: dict = field(default_factory=dict)
    n_missing_target: int = 0

    @property
    def feature_names(self) -> list[str]:
        return list(self.X.columns)


# --------------------------------------------------------------------------- catalog


def load_catalog() -> dict[str, dict]:
    """The bundled datasets' catalog (``datasets/catalog.toml``), keyed by name."""
    with open(shipped_dir("datasets") / "catalog.toml", "rb") as handle:
        return tomllib.load(handle)


def dataset_names() -> list[str]:
    """Names of the bundled datasets."""
    return sorted(load_catalog())


def _read_bundled(name: str, entry: dict) -> pd.DataFrame:
    if "sklearn" in entry:
        import sklearn.datasets

        loader_name = entry["sklearn"]
        if not loader_name.startswith("load_"):
            raise FselInputError(f"catalog entry {name!r} names no scikit-learn loader.")
        return getattr(sklearn.datasets, loader_name)(as_frame=True).frame
    return read_table(shipped_dir("datasets") / entry["file"])


# --------------------------------------------------------------------------- reading


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a CSV, Parquet or Feather/Arrow file into a DataFrame through pyarrow.

    Raises :class:`FselInputError` with one line for a missing, empty, unreadable or
    unknown-format file, duplicate column names and nested (list/struct) columns.
    """
    path = Path(path)
    if not path.exists():
        raise FselInputError(f"{path}: no such file.")
    if path.is_dir():
        raise FselInputError(f"{path} is a directory, not a table file.")
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        known = ", ".join(sorted(FORMATS))
        raise FselInputError(f"{path}: unknown format {path.suffix!r}; fsel reads {known}.")
    if path.stat().st_size == 0:
        raise FselInputError(f"{path} is empty.")
    try:
        table = _READERS[kind](path)
    except FselInputError:
        raise
    except (pa.ArrowException, OSError, ValueError, UnicodeDecodeError) as error:
        raise FselInputError(f"{path} could not be read as {kind}: {first_line(error)}") from None
    return _table_to_frame(table, path)


def _read_csv(path: Path) -> pa.Table:
    from pyarrow import csv as pacsv

    head = path.read_bytes()[:65536]
    if b"\x00" in head:
        raise FselInputError(f"{path} is not a text table (it holds binary data).")
    encoding = "utf8"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.start < len(head) - 4:  # not merely a character cut at the 64 KiB boundary
            encoding = "latin-1"  # Excel-style exports; every byte decodes
        text = head.decode(encoding, errors="ignore")
    delimiter = _sniff_delimiter(text, default="\t" if path.suffix.lower() == ".tsv" else ",")
    return pacsv.read_csv(
        path,
        read_options=pacsv.ReadOptions(encoding=encoding),
        parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(
            null_values=NULL_MARKERS, strings_can_be_null=True, quoted_strings_can_be_null=True
        ),
    )


def _sniff_delimiter(text: str, default: str) -> str:
    lines = [line for line in io.StringIO(text).read().splitlines() if line.strip()][:20]
    if not lines:
        return default
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=",;\t|").delimiter
    except csv.Error:
        return default


def _read_parquet(path: Path) -> pa.Table:
    import pyarrow.parquet as pq

    return pq.read_table(path)


def _read_feather(path: Path) -> pa.Table:
    import pyarrow.feather as feather

    return feather.read_table(path)


_READERS = {"csv": _read_csv, "parquet": _read_parquet, "feather": _read_feather}


def _table_to_frame(table: pa.Table, path: Path) -> pd.DataFrame:
    names = [str(name).strip() for name in table.column_names]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        shown = ", ".join(repr(name) for name in duplicates[:5])
        raise FselInputError(f"{path}: duplicate column names: {shown}.")
    if any(name == "" for name in names):
        raise FselInputError(f"{path}: a column has an empty name.")
    for name, column in zip(names, table.columns, strict=True):
        if pa.types.is_nested(column.type):
            raise FselInputError(
                f"{path}: column {name!r} holds nested values ({column.type}); fsel reads flat tables."
            )
    table = table.rename_columns(names)
    frame = table.to_pandas()
    if frame.shape[1] == 0:
        raise FselInputError(f"{path} has no columns.")
    if frame.shape[0] == 0:
        raise FselInputError(f"{path} has a header but no rows.")
    return frame


# --------------------------------------------------------------------------- target and task


def choose_target(columns: list[str], target: str | None, catalog_target: str | None = None):
    """Return ``(target, how)``: the target column's name and how it was chosen.

    ``target`` given: it must be a column (matched exactly, then ignoring case and
    surrounding spaces); otherwise the catalog's target, a column named one of
    :data:`TARGET_NAMES` (any case), or the last column.
    """
    if target is not None:
        if target in columns:
            return target, "given"
        folded = {str(name).strip().casefold(): name for name in columns}
        if target.strip().casefold() in folded:
            return folded[target.strip().casefold()], "given"
        close = difflib.get_close_matches(target, [str(c) for c in columns], n=3, cutoff=0.5)
        if not close:
            close = [c for c in map(str, columns) if target.casefold() in c.casefold()][:3]
        hint = f"; did you mean {', '.join(map(repr, close))}?" if close else "."
        raise FselInputError(f"target column {target!r} not found{hint}")
    if catalog_target is not None and catalog_target in columns:
        return catalog_target, "catalog"
    folded = {str(name).casefold(): name for name in columns}
    for candidate in TARGET_NAMES:
        if candidate in folded:
            return folded[candidate], "name"
    return columns[-1], "last column"


def infer_task(y: pd.Series) -> str:
    """``"classification"`` for text, boolean or few-integer targets, else ``"regression"``."""
    values = y.dropna()
    if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return "classification"
    numbers = values.to_numpy(dtype=float)
    integral = np.all(np.isfinite(numbers)) and np.all(numbers == np.round(numbers))
    n_unique = len(np.unique(numbers))
    if integral and n_unique <= MAX_CLASSES_FOR_INTEGER_TARGET and n_unique < 0.5 * len(numbers):
        return "classification"
    return "regression"


def _check_target(y: pd.Series, target: str, task: str) -> pd.Series:
    if task == "regression":
        numbers = pd.to_numeric(y, errors="coerce")
        if numbers.isna().sum() > y.isna().sum():
            raise FselInputError(
                f"target {target!r} is not numeric, so it cannot be a regression target; "
                "use --task classification."
            )
        if not np.all(np.isfinite(numbers.to_numpy(dtype=float))):
            raise FselInputError(f"target {target!r} holds infinite values.")
        if numbers.nunique() < 2:
            raise FselInputError(f"target {target!r} is constant; nothing to predict.")
        return numbers.astype(float)
    if y.dtype == object or pd.api.types.is_string_dtype(y):
        y = y.astype(str).str.strip()
    counts = y.value_counts()
    if len(counts) < 2:
        only = f" (every row is {counts.index[0]!r})" if len(counts) else ""
        raise FselInputError(f"target {target!r} has a single class{only}; nothing to predict.")
    return y


# --------------------------------------------------------------------------- encoding


def encode_features(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict, dict]:
    """Encode feature columns as numbers, keeping their names.

    Returns ``(X, encodings, dropped)``. Numeric and boolean columns become float
    (infinite values become NaN); text columns whose every value is a number are
    parsed as numbers; two-level text columns become 0/1 (the alphabetically second
    level is 1); text columns of up to :data:`MAX_CATEGORY_LEVELS` levels are one-hot
    encoded as ``column=level`` (NaN where the value is missing); all-missing and
    identifier-like text columns are dropped, with the reason in ``dropped``.
    """
    encoded: dict[str, pd.Series] = {}
    encodings: dict[str, dict] = {}
    dropped: dict[str, str] = {}
    for name in frame.columns:
        column = frame[name]
        if column.isna().all():
            dropped[name] = "all values missing"
            continue
        if pd.api.types.is_datetime64_any_dtype(column):
            days = (column - pd.Timestamp("1970-01-01")).dt.total_seconds() / 86400.0
            encoded[name] = days.astype(float)
            continue
        if pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column):
            encoded[name] = _finite_numbers(column, name, encodings)
            continue
        text = column.astype("string").str.strip()
        text = text.where(text != "")
        numbers = pd.to_numeric(text, errors="coerce")
        if numbers.notna().sum() == text.notna().sum():
            encoded[name] = _finite_numbers(numbers, name, encodings)
            continue
        levels = sorted(text.dropna().unique())
        if len(levels) == 1:
            encoded[name] = text.notna().astype(float).where(text.notna())
            encodings[name] = {"kind": "binary", "levels": ["", levels[0]]}
        elif len(levels) == 2:
            encoded[name] = (text == levels[1]).astype(float).where(text.notna())
            encodings[name] = {"kind": "binary", "levels": levels}
        elif len(levels) <= MAX_CATEGORY_LEVELS and not _looks_like_identifier(levels, text):
            for level in levels:
                encoded[f"{name}={level}"] = (text == level).astype(float).where(text.notna())
            encodings[name] = {"kind": "onehot", "levels": levels}
        else:
            dropped[name] = f"text with {len(levels)} distinct values (identifier or free text)"
    X = pd.DataFrame(encoded, index=frame.index)
    return X, encodings, dropped


def _finite_numbers(column: pd.Series, name: str, encodings: dict) -> pd.Series:
    """``column`` as float, infinities as NaN, and huge magnitudes scaled down by a power of ten.

    Tree models work in float32 (largest ~3.4e38) and variances square the values, so a
    column reaching beyond :data:`MAX_MAGNITUDE` is divided by the power of ten that
    brings it within [-1, 1]; the ranking of its values, and so every selector's view
    of it, is unchanged. The divisor is recorded in ``encodings``.
    """
    numbers = column.astype(float)
    numbers = numbers.where(np.isfinite(numbers))
    largest = numbers.abs().max()
    if pd.notna(largest) and largest > MAX_MAGNITUDE:
        divisor = 10.0 ** np.ceil(np.log10(largest))
        numbers = numbers / divisor
        encodings[name] = {"kind": "rescaled", "divided_by": divisor}
    return numbers


def _looks_like_identifier(levels: list[str], text: pd.Series) -> bool:
    """More than ten levels, most of them seen once: an identifier or free text."""
    return len(levels) > 10 and len(levels) > 0.5 * text.notna().sum()


# --------------------------------------------------------------------------- entry points


def prepare_dataset(
    frame: pd.DataFrame,
    target: str | None = None,
    task: str | None = None,
    *,
    name: str = "data",
    catalog_entry: dict | None = None,
) -> Dataset:
    """Split ``frame`` into encoded features and a target (see :func:`load_dataset`)."""
    if frame.shape[0] == 0:
        raise FselInputError(f"{name}: the table has no rows.")
    frame = frame.rename(columns=lambda c: str(c).strip())
    if frame.columns.duplicated().any():
        repeated = sorted(set(frame.columns[frame.columns.duplicated()]))
        raise FselInputError(f"{name}: duplicate column names: {', '.join(map(repr, repeated))}.")
    entry = catalog_entry or {}
    target_name, how = choose_target(list(frame.columns), target, entry.get("target"))
    if task is not None and task not in TASKS:
        raise FselInputError(f"task must be one of {', '.join(TASKS)}, got {task!r}.")
    y = frame[target_name]
    if y.dtype == object or pd.api.types.is_string_dtype(y):
        y = y.astype("string").str.strip().replace("", pd.NA)
    known = y.notna()
    if not known.any():
        raise FselInputError(f"target {target_name!r} is missing in every row.")
    frame, y = frame.loc[known], y.loc[known]
    if len(y) < MIN_ROWS:
        raise FselInputError(
            f"{name}: {len(y)} row(s) with a target; fsel needs at least {MIN_ROWS}."
        )
    task = task or entry.get("task") or infer_task(y)
    y = _check_target(y, target_name, task)
    raw = frame.drop(columns=[target_name])
    X, encodings, dropped = encode_features(raw)
    if X.shape[1] < 2:
        usable = ", ".join(map(repr, X.columns)) or "none"
        raise FselInputError(
            f"{name}: fewer than two usable feature columns besides target {target_name!r} "
            f"(usable: {usable}); is the delimiter right?"
        )
    positive = entry.get("positive")
    if positive is not None and task == "classification":
        positive = _match_label(positive, y)
    return Dataset(
        name=name,
        X=X,
        y=y.rename(target_name),
        target=target_name,
        task=task,
        target_source=how,
        positive_label=positive,
        groups=[g for g in entry.get("groups", []) if g in raw.columns],
        raw=raw,
        encodings=encodings,
        dropped=dropped,
        n_missing_target=int((~known).sum()),
    )


def _match_label(label, y: pd.Series):
    """``label`` as it appears among ``y``'s values (``"1"`` matches ``1``)."""
    for value in pd.unique(y):
        if str(value) == str(label):
            return value
    return label


def load_dataset(
    source: str | Path, target: str | None = None, task: str | None = None
) -> Dataset:
    """Load a bundled dataset by name, or a CSV / Parquet / Feather file, as a :class:`Dataset`.

    Parameters
    ----------
    source : str or path
        A bundled dataset's name (see :func:`dataset_names`) or a file path.
    target : str, optional
        The target column; by default the catalog's, else a column named ``target``,
        ``class``, ``label``, ``outcome`` or ``y`` (any case), else the last column.
    task : {"classification", "regression"}, optional
        Overrides the inferred task.

    Raises
    ------
    FselInputError
        For every problem with the input, with a one-line message.

    Examples
    --------
    >>> from fsel.data import load_dataset
    >>> ckd = load_dataset("ckd")
    >>> ckd.task, ckd.target, ckd.X.shape[0]
    ('classification', 'class', 400)
    """
    catalog = load_catalog()
    text = str(source)
    if text in catalog and not Path(text).exists():
        entry = catalog[text]
        return prepare_dataset(
            _read_bundled(text, entry), target, task, name=text, catalog_entry=entry
        )
    path = Path(text)
    if not path.exists() and not path.suffix:
        close = difflib.get_close_matches(text, list(catalog), n=2)
        hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
        raise FselInputError(
            f"{text!r} is neither a file nor a bundled dataset ({', '.join(sorted(catalog))}){hint}"
        )
    return prepare_dataset(read_table(path), target, task, name=path.stem)


def write_table(frame: pd.DataFrame, path: str | Path, *, index_label: str | None = None) -> None:
    """Write ``frame`` as CSV, Parquet or Feather (by the suffix of ``path``), atomically.

    With ``index_label`` the index is written as a first column of that name.
    """
    from fsel._io import atomic_file

    path = Path(path)
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        known = ", ".join(sorted(FORMATS))
        raise FselInputError(f"{path}: unknown format {path.suffix!r}; fsel writes {known}.")
    if index_label is not None:
        frame = frame.rename_axis(index_label).reset_index()
    table = pa.Table.from_pandas(frame, preserve_index=False)
    with atomic_file(path, "wb") as handle:
        if kind == "csv":
            from pyarrow import csv as pacsv

            delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
            pacsv.write_csv(table, handle, pacsv.WriteOptions(delimiter=delimiter))
        elif kind == "parquet":
            import pyarrow.parquet as pq

            pq.write_table(table, handle)
        else:
            import pyarrow.feather as feather

            feather.write_feather(table, handle)
