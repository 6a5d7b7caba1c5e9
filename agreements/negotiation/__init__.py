"""Agreements while drafted and negotiated: create, edit, proposals (overrides), conflicts."""
