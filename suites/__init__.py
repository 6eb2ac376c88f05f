"""The conformance suites, shipped inside the wheel as ``oin_conformance.suites``."""
