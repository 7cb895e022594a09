"""The clinical-risk report: out-of-fold statistics, figures and one self-contained HTML page."""
