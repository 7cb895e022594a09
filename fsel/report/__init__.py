"""The clinical-risk report: out-of-fold statistics, figures and one self-contained HTML page."""

from fsel.report._build import build_report, write_report

__all__ = ["build_report", "write_report"]
