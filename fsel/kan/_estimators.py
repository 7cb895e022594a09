"""``KANClassifier`` and ``KANRegressor``: scikit-learn estimators around pykan's ``KAN`` module."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, _fit_context
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from fsel.kan._forward import fast_forward
from fsel.kan._network import (
    bounded_torch_threads,
    build_network,
    default_hidden_width,
    resolve_device,
)
from fsel.kan._training import (
    EVAL_CHUNK_ROWS,
    resolve_batch_size,
    train_network,
)

# Fewer rows than this and no validation split is held out: training runs max_iter rounds.
_MIN_ROWS_FOR_VALIDATION = 10


def local_random_state(random_state) -> np.random.RandomState:
    """``check_random_state``, except that ``None`` seeds a new generator from the OS.

    scikit-learn's ``None`` means NumPy's global generator; drawing from it would
    change the global state, which fsel's KANs promise never to do.
    """
    if random_state is None:
        return np.random.RandomState(np.random.SeedSequence().generate_state(1)[0])
    return check_random_state(random_state)


class _BaseKAN(BaseEstimator):
    """Shared fit / forward machinery of the two KAN estimators."""

    _parameter_constraints: dict = {
        "hidden_width": [Interval(Integral, 1, None, closed="left"), None],
        "grid": [Interval(Integral, 1, None, closed="left")],
        "spline_order": [Interval(Integral, 1, None, closed="left")],
        "solver": [StrOptions({"adam", "lbfgs"})],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "input_sparsity": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "update_grid": ["boolean"],
        "device": [str],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        *,
        hidden_width=None,
        grid=5,
        spline_order=3,
        solver="adam",
        learning_rate=0.01,
        alpha=0.0,
        input_sparsity=0.0,
        max_iter=500,
        batch_size="auto",
        validation_fraction=0.2,
        n_iter_no_change=20,
        tol=1e-4,
        update_grid=True,
        device="auto",
        n_jobs=None,
        random_state=None,
    ):
        self.hidden_width = hidden_width
        self.grid = grid
        self.spline_order = spline_order
        self.solver = solver
        self.learning_rate = learning_rate
        self.alpha = alpha
        self.input_sparsity = input_sparsity
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.update_grid = update_grid
        self.device = device
        self.n_jobs = n_jobs
        self.random_state = random_state

    # -- what the two tasks supply -------------------------------------------------
    def _encode_target(self, y: np.ndarray) -> tuple[np.ndarray, int]:
        raise NotImplementedError

    def _loss(self):
        raise NotImplementedError

    def _target_tensor(self, y_encoded: np.ndarray) -> torch.Tensor:
        raise NotImplementedError

    # -- fitting --------------------------------------------------------------------
    def _fit(self, X, y):
        X, y = validate_data(self, X, y, dtype=np.float64, y_numeric=not self._is_classifier)
        y_encoded, n_outputs = self._encode_target(y)
        random_state = local_random_state(self.random_state)
        torch_seed = int(random_state.randint(np.iinfo(np.int32).max))
        self.device_ = resolve_device(self.device)

        self.x_min_ = X.min(axis=0)
        self.x_max_ = X.max(axis=0)
        self.x_mean_ = X.mean(axis=0)
        scale = X.std(axis=0)
        self.x_scale_ = np.where(scale > 0, scale, 1.0)

        train_rows, validation_rows = self._split(y_encoded, random_state)
        self.validation_indices_ = validation_rows
        hidden = self.hidden_width or default_hidden_width(X.shape[1])
        generator = torch.Generator().manual_seed(torch_seed)
        with bounded_torch_threads(self.n_jobs):
            self.network_ = build_network(
                [X.shape[1], hidden, n_outputs],
                self.grid,
                self.spline_order,
                generator,
                self.device_,
            )
            X_all = self._input_tensor(X)
            y_all = self._target_tensor(y_encoded)
            index = torch.as_tensor(train_rows, device=self.device_)
            X_train, y_train = X_all[index], y_all[index]
            X_val = y_val = None
            if validation_rows.size:
                index = torch.as_tensor(validation_rows, device=self.device_)
                X_val, y_val = X_all[index], y_all[index]
            result = train_network(
                self.network_,
                self._loss(),
                X_train,
                y_train,
                X_val,
                y_val,
                solver=self.solver,
                learning_rate=self.learning_rate,
                alpha=self.alpha,
                input_sparsity=self.input_sparsity,
                max_iter=self.max_iter,
                batch_size=resolve_batch_size(self.batch_size, X_train.shape[0]),
                n_iter_no_change=self.n_iter_no_change,
                tol=self.tol,
                update_grid=self.update_grid,
                rng=random_state,
            )
        # Trained in float32 for speed; kept in float64 so that predictions and scores do
        # not depend on how many rows are evaluated together.
        torch.nn.Module.to(self.network_, torch.float64)
        self.network_.requires_grad_(False)
        self.n_iter_ = result.n_iter
        self.best_iteration_ = result.best_iteration
        self.loss_curve_ = result.training_loss
        self.validation_loss_curve_ = result.validation_loss
        return self

    def _split(self, y_encoded, random_state) -> tuple[np.ndarray, np.ndarray]:
        rows = np.arange(y_encoded.shape[0])
        n_validation = int(round(self.validation_fraction * rows.size))
        if rows.size < _MIN_ROWS_FOR_VALIDATION or n_validation < 1:
            return rows, rows[:0]
        stratify = y_encoded if self._is_classifier else None
        try:
            train, validation = train_test_split(
                rows, test_size=n_validation, random_state=random_state, stratify=stratify
            )
        except ValueError:
            # A class with a single row cannot be stratified: split without stratifying.
            train, validation = train_test_split(
                rows, test_size=n_validation, random_state=random_state
            )
        return np.sort(train), np.sort(validation)

    # -- forward ----------------------------------------------------------------------
    def _input_tensor(self, X: np.ndarray) -> torch.Tensor:
        """Standardised inputs on the network's device, in the network's float type."""
        standardised = (np.asarray(X, dtype=np.float64) - self.x_mean_) / self.x_scale_
        return torch.as_tensor(standardised, dtype=self._float_type(), device=self.device_)

    def _float_type(self) -> torch.dtype:
        return self.network_.act_fun[0].coef.dtype

    def _forward(self, X) -> np.ndarray:
        """Network outputs for ``X`` (after validation), as float64 NumPy."""
        check_is_fitted(self, "network_")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        inputs = self._input_tensor(X)
        outputs = []
        with bounded_torch_threads(self.n_jobs), torch.no_grad():
            for start in range(0, inputs.shape[0], EVAL_CHUNK_ROWS):
                outputs.append(
                    fast_forward(self.network_, inputs[start : start + EVAL_CHUNK_ROWS])
                )
        return torch.cat(outputs).cpu().numpy()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags


class KANClassifier(ClassifierMixin, _BaseKAN):
    """Kolmogorov–Arnold network classifier: pykan's ``KAN`` trained by fsel's own loop.

    The network has widths ``[n_features, hidden_width, n_classes]`` and outputs logits;
    it is trained with cross-entropy on standardised inputs. One optimisation round is a
    full-batch step when the training split has at most 4,096 rows, else 16 steps of
    512-row mini-batches taken in turn from a shuffled pass over the training rows (one
    whole pass up to 8,192 rows; at larger n a round's work stays bounded, so the cost of
    early stopping does not grow with n). A stratified ``validation_fraction`` of the rows
    is held out for early stopping (its loss measured on at most 8,192 of them) and the
    best weights are restored. Fitting writes no files,
    prints nothing and leaves the global torch / NumPy / ``random`` generators as they were.

    Parameters
    ----------
    hidden_width : int or None, default=None
        Units in the hidden layer; ``None`` is ``min(2 * n_features + 1, 16)``.
    grid : int, default=5
        Spline grid intervals per edge.
    spline_order : int, default=3
        Order of the B-splines (3 = cubic).
    solver : {"adam", "lbfgs"}, default="adam"
        Optimiser; L-BFGS runs one iteration (with a line search) per round and is
        only sensible with full batches.
    learning_rate : float, default=0.01
        Step size (Adam) or initial step (L-BFGS).
    alpha : float, default=0.0
        L2 penalty on every trainable parameter.
    input_sparsity : float, default=0.0
        Group-lasso penalty on each input's first-layer edges (the sum over inputs of
        the norm of their weights): larger values make the network use fewer inputs.
    max_iter : int, default=500
        Maximum number of rounds (full-batch steps, or up to 16 mini-batch steps).
    batch_size : int or "auto", default="auto"
        Rows per mini-batch; ``"auto"`` chooses full batch up to 4,096 rows, else 512.
    validation_fraction : float in [0, 1), default=0.2
        Fraction of rows held out for early stopping (none below 10 rows, or when 0).
    n_iter_no_change : int, default=20
        Rounds without a validation-loss gain larger than ``tol`` before stopping.
    tol : float, default=1e-4
        Minimum improvement of the validation loss that counts as progress.
    update_grid : bool, default=True
        Place each layer's spline grid on the quantiles of its inputs at the start
        and a few times early in training.
    device : str, default="auto"
        ``"auto"`` (CUDA when available, else CPU) or any torch device name.
    n_jobs : int or None, default=None
        CPU threads torch uses during ``fit`` and prediction; ``None`` is 1, -1 all.
    random_state : int, RandomState instance or None, default=None
        Seeds the split, the initial weights and the mini-batch order.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels.
    network_ : kan.MultKAN
        The trained pykan module (inputs are standardised with ``x_mean_`` / ``x_scale_``).
    x_mean_, x_scale_ : ndarray of shape (n_features,)
        Training means and standard deviations (1 for a constant column).
    x_min_, x_max_ : ndarray of shape (n_features,)
        Training range of each feature.
    validation_indices_ : ndarray of int
        Rows of the training ``X`` held out for early stopping (empty when none).
    n_iter_ : int
        Rounds run.
    best_iteration_ : int
        Round whose weights were kept.
    loss_curve_, validation_loss_curve_ : list of float
        Training and validation loss after each round.
    n_features_in_ : int
        Number of input features.
    feature_names_in_ : ndarray of str
        Column names, when ``X`` was a DataFrame with string column names.

    See Also
    --------
    KANRegressor : The same network for a continuous target.
    fsel.kan.kan_scores : Feature importances of a fitted KAN.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from fsel.kan import KANClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> model = KANClassifier(random_state=0).fit(X, y)
    >>> model.predict(X[:3])
    array([0, 0, 0])
    >>> bool(model.score(X, y) > 0.9)
    True
    """

    _is_classifier = True

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Train the network on ``(X, y)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs.
        y : array-like of shape (n_samples,)
            Class labels.

        Returns
        -------
        self : KANClassifier
            The fitted classifier.
        """
        return self._fit(X, y)

    def _encode_target(self, y):
        check_classification_targets(y)
        self.classes_, y_encoded = np.unique(y, return_inverse=True)
        if self.classes_.size < 2:
            raise ValueError(
                "KANClassifier needs at least two classes in y; got 1 class "
                f"({self.classes_[0]!r})."
            )
        return y_encoded, self.classes_.size

    def _loss(self):
        return torch.nn.CrossEntropyLoss()

    def _target_tensor(self, y_encoded):
        return torch.as_tensor(y_encoded, dtype=torch.long, device=self.device_)

    def decision_function(self, X) -> np.ndarray:
        """Logits of each class, shape (n_samples, n_classes).

        For two classes, scikit-learn's convention: the logit of ``classes_[1]`` minus
        that of ``classes_[0]``, shape (n_samples,).
        """
        logits = self._forward(X)
        return logits[:, 1] - logits[:, 0] if logits.shape[1] == 2 else logits

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities (softmax of the logits), shape (n_samples, n_classes)."""
        logits = self._forward(X)
        logits -= logits.max(axis=1, keepdims=True)
        probabilities = np.exp(logits)
        return probabilities / probabilities.sum(axis=1, keepdims=True)

    def predict(self, X) -> np.ndarray:
        """The most probable class of each row."""
        check_is_fitted(self, "network_")
        return self.classes_[np.argmax(self._forward(X), axis=1)]


class KANRegressor(RegressorMixin, _BaseKAN):
    """Kolmogorov–Arnold network regressor: pykan's ``KAN`` trained by fsel's own loop.

    The network has widths ``[n_features, hidden_width, 1]``; inputs and target are
    standardised and the loss is the mean squared error on the standardised target,
    so the learning rate and the scores do not depend on the target's units.
    Training, early stopping and side-effect guarantees are those of
    :class:`KANClassifier`, whose parameters this class shares.

    Parameters
    ----------
    hidden_width : int or None, default=None
        Units in the hidden layer; ``None`` is ``min(2 * n_features + 1, 16)``.
    grid : int, default=5
        Spline grid intervals per edge.
    spline_order : int, default=3
        Order of the B-splines.
    solver : {"adam", "lbfgs"}, default="adam"
        Optimiser.
    learning_rate : float, default=0.01
        Step size.
    alpha : float, default=0.0
        L2 penalty on every trainable parameter.
    input_sparsity : float, default=0.0
        Group-lasso penalty on each input's first-layer edges (the sum over inputs of
        the norm of their weights): larger values make the network use fewer inputs.
    max_iter : int, default=500
        Maximum number of rounds.
    batch_size : int or "auto", default="auto"
        Rows per mini-batch.
    validation_fraction : float in [0, 1), default=0.2
        Fraction of rows held out for early stopping.
    n_iter_no_change : int, default=20
        Patience, in rounds.
    tol : float, default=1e-4
        Minimum validation-loss gain that counts.
    update_grid : bool, default=True
        Place the spline grids on the data's quantiles early in training.
    device : str, default="auto"
        Torch device, ``"auto"`` for CUDA when available.
    n_jobs : int or None, default=None
        CPU threads torch uses; ``None`` is 1, -1 all.
    random_state : int, RandomState instance or None, default=None
        Seeds the split, the initial weights and the mini-batch order.

    Attributes
    ----------
    network_ : kan.MultKAN
        The trained pykan module.
    x_mean_, x_scale_ : ndarray of shape (n_features,)
        Input standardisation.
    x_min_, x_max_ : ndarray of shape (n_features,)
        Training range of each feature.
    y_mean_, y_scale_ : float
        Target standardisation.
    validation_indices_ : ndarray of int
        Rows held out for early stopping.
    n_iter_, best_iteration_ : int
        Rounds run and round kept.
    loss_curve_, validation_loss_curve_ : list of float
        Losses after each round (standardised target).
    n_features_in_ : int
        Number of input features.
    feature_names_in_ : ndarray of str
        Column names, when ``X`` was a DataFrame with string column names.

    See Also
    --------
    KANClassifier : The same network for class labels.

    Examples
    --------
    >>> from sklearn.datasets import make_friedman1
    >>> from fsel.kan import KANRegressor
    >>> X, y = make_friedman1(n_samples=400, random_state=0)
    >>> model = KANRegressor(random_state=0).fit(X, y)
    >>> bool(model.score(X, y) > 0.8)
    True
    """

    _is_classifier = False

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Train the network on ``(X, y)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs.
        y : array-like of shape (n_samples,)
            Continuous target.

        Returns
        -------
        self : KANRegressor
            The fitted regressor.
        """
        return self._fit(X, y)

    def _encode_target(self, y):
        y = np.asarray(y, dtype=np.float64)
        self.y_mean_ = float(y.mean())
        scale = float(y.std())
        self.y_scale_ = scale if scale > 0 else 1.0
        return (y - self.y_mean_) / self.y_scale_, 1

    def _loss(self):
        return torch.nn.MSELoss()

    def _target_tensor(self, y_encoded):
        return torch.as_tensor(y_encoded, dtype=self._float_type(), device=self.device_)[:, None]

    def predict(self, X) -> np.ndarray:
        """Predicted target of each row, in the target's units."""
        return self._forward(X)[:, 0] * self.y_scale_ + self.y_mean_
