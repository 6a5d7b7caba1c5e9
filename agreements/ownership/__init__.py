"""Ownership and stewardship of each data element: every party's position, conflicts between
them, and how they are settled before legal review (issue 20, item 2). The vocabulary is in
``vocabulary``; the rules in ``rules``; writes in ``services``; reads in ``selectors``."""
