"""How the project plugs into Kedro and the tools around it.

The MLflow tracking hook and its settings, the Dask runner and its worker side, the
project's ``kedro run`` command, the run lock (one writing run per data folder), the
warning filters installed at start, and the binding of generic node functions to a model
kind. Nothing here is a pipeline stage; what each piece does without being called is
listed in docs/architecture.md.
"""
