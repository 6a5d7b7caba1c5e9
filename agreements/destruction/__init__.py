"""Destruction duties: a receiving party's obligation to destroy each data element it received
under an agreement, by the agreement's destruction deadline, and to certify it.

When duties come into being: the moment an agreement becomes active (data may flow from then
on), one duty per data element and its recipient is opened (``services.destruction_duties_open``,
subscribed to ``agreement.status_changed`` after commit); the daily job opens any that are
missing (agreements that were active before this feature, a lost after-commit call), so it is
safe to run twice. A duty's deadline is never stored: it is ``agreements.terms``'s
``destruction_deadline`` (and its SQL twin), so a notice of termination moves it.

- ``rules``: the states (pending, due soon, overdue, certified), reminder thresholds and the
  earliest destruction date: plain functions.
- ``services``: open duties, certify (the receiving party only), the daily reminders and
  overdue flags, the certificate's render.
- ``selectors``: duties a user may see, with their deadline, through the one visibility rule.
- ``certificate``: the certificate of destruction PDF, rendered by the one PDF module and sealed
  like an executed agreement.
"""
