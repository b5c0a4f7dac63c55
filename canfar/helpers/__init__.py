"""Helpers for code that runs inside sessions."""
