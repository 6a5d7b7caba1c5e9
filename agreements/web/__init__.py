"""The browser pages: views and forms."""
