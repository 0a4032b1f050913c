"""Profile: what the data is (kinds, statistics, missingness, keys, relationships, PII) as JSON metadata.

``profile(df_or_dataset) -> Metadata`` (the data classes live in :mod:`synthkit.meta`);
``to_sdv_dict(metadata)`` exports SDV's format; GE suites and validation in
:mod:`synthkit.profile.expectations` (``build_suite``, ``validate``, ``save_suite``, ``load_suite``).
The HTML profile page is the report's (:func:`synthkit.report.render_profile_report`).
"""

from synthkit.profile.pii import detect_pii
from synthkit.profile.profiler import profile, profile_column, profile_table
from synthkit.profile.sdv_export import to_sdv_dict

__all__ = [
    "detect_pii",
    "profile",
    "profile_column",
    "profile_table",
    "to_sdv_dict",
]
