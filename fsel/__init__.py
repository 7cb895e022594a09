"""fsel: tabular AutoML feature selection."""
