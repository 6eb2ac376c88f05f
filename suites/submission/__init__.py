"""The submission suite."""
