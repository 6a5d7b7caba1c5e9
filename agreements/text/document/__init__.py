"""Structured clause text: the document tree, its canonical form, importers and renderers."""
