"""Report: one self-contained HTML file (inline CSS and SVG, no network) from evaluation results.

``render_report`` writes the full evaluation report; ``render_profile_report`` a profile-only report
from the same templates. Both show aggregates only, never a real record.
"""

from synthkit.report.render import render_profile_report, render_report

__all__ = ["render_profile_report", "render_report"]
