"""``composer evaluate``: gathers the measures (``composer.measures``) and each family's held-out
likelihood into metrics.json, report.md and plots (``report.evaluate``)."""
