"""Legal review: submit, approve, reopen, per-clause review, comparisons, analytics, exports."""
