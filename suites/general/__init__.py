"""Checks that need no protocol role."""
