"""Signing and ending agreements: sign, terminate, expire, reminders before expiry."""
