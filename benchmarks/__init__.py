"""fsel's speed and quality benchmarks (measurements, not tests); run with ``make bench``."""

import os

# The paper protocol's unscaled logistic regression (benchmarks/paper_models/linear.toml)
# stops at its 1000 iterations without converging on several tables, as the paper's did.
# Its warning would repeat for every fit; the worker processes inherit this filter.
if "lbfgs failed to converge" not in os.environ.get("PYTHONWARNINGS", ""):
    os.environ["PYTHONWARNINGS"] = ",".join(
        filter(None, [os.environ.get("PYTHONWARNINGS"), "ignore:lbfgs failed to converge"])
    )
