"""Research approvals (issue 20, item 4): the IRB's and the district research office's
approvals a study needs before student data flows, attached to an agreement.

- ``models``: ``ResearchApproval`` (one approval letter; a renewal is a new row, history is
  kept) and ``ApprovalReminderSent``; the template's setting of which kinds it requires is
  ``DSATemplate.required_research_approvals``.
- ``rules``: **the one definition** of "the agreement's approvals are current on day d"
  (Python and its SQL twin side by side), each approval's state, and the refusal that names
  which approval to renew.
- ``services``: record, withdraw, the template's requirement, the daily reminders.
- ``selectors``: reads behind the access rule; ``dashboard``: the director's panel.
"""
