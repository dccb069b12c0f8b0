"""Code the tests share: fixtures, NumPy references, model builders, comparison helpers.

Test modules import from here (`from support.<module> import ...`; tests/ is on sys.path under
pytest), never from another test module.
"""
