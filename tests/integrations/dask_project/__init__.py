"""A stand-in project for tests/integrations/test_dask_runner.py: light nodes, one recording hook.

Dask workers import the nodes' module and load the project's settings by package name;
this package imports nothing heavy (its settings keep MLflow off the workers too), so
workers start quickly.
"""
