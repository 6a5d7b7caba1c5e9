"""Standard templates and their versions: writes, selectors, Markdown/Word import and export."""
