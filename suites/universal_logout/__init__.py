"""The universal_logout suite."""
