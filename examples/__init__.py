"""Example programs using Vigil (importable by the tests, which run them for real)."""
