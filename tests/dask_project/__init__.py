"""A stand-in project package for tests/test_runner.py: light nodes and one recording hook.

Dask workers import the nodes' module and load the project's settings by package name;
this package imports nothing heavy, so workers start quickly.
"""
