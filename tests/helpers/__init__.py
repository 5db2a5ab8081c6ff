"""Test helpers shared across test folders, imported as ``helpers.<module>``.

tests/ is on sys.path through ``pythonpath`` in pyproject's ``[tool.pytest.ini_options]``.
"""
