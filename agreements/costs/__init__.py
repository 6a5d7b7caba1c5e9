"""Costs and effort of a partnership (issue 20, item 1): legal review time, the district's
data-preparation effort and how it is compensated, ongoing costs, and how long each
lifecycle stage took.

``models`` (one table of entries, imported by ``agreements.models``), ``services`` (every
write), ``selectors`` (every read, through the privacy rule), ``cycle`` (time per lifecycle
stage from the transition record, in SQL), ``report`` (the facilitator's comparison, chart
and CSV) and ``demo``.
"""
