"""A stand-in project package whose settings register one hook, for tests/test_runner.py.

Dask workers load a project's settings by package name; pointing them at this package
shows whether node and dataset hooks run there.
"""
