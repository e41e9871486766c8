"""Silence library warnings that a user of this project cannot act on.

Each entry names the library that emits it and why it is harmless here. Anything not
listed still reaches the console. Installed on import of the package, so it also covers
the spawned export process and notebooks (kedro.ipython imports the settings first).
"""

import warnings

# (category, message regex): each is raised inside a library, and none asks the user to act.
_LIBRARY_WARNINGS = (
    # kedro 1.7's OmegaConfigLoader calls omegaconf's deprecated register_new_resolver().
    (UserWarning, r"register_new_resolver\(\) is deprecated"),
    # pytorch-lightning 2.6 and torch.export use a torch pytree API that torch 2.13 deprecates.
    (FutureWarning, r"`isinstance\(treespec, LeafSpec\)` is deprecated"),
    # torch's dynamo ONNX exporter calls its own deprecated torch._check_is_size.
    (FutureWarning, r"_check_is_size will be removed"),
    # nn.LSTM re-assigns its _flat_weights while torch.export traces it; the exported graph is
    # checked for parity by the validation stage.
    (UserWarning, r"The tensor attributes self\.lstm\._flat_weights"),
    # torch.onnx names each dynamic axis; inputs that share the batch axis repeat the name.
    (UserWarning, r"# The axis name\W+batch will not be used"),
    # kedro warns once when a node outside a namespace reads a namespaced dataset; reporting
    # and inference read each model branch's outputs (lstm.test_predictions, ...) on purpose.
    (UserWarning, r"One or more dataset names contain '\.' characters"),
    # MLflow 3.17's SQLite store uses SQLAlchemy's noload strategy, which SQLAlchemy 2.1
    # deprecates (a DeprecationWarning subclass: shown by pytest, not by `kedro run`).
    (DeprecationWarning, r"The ``noload`` loader strategy is deprecated"),
)


def silence_library_warnings() -> None:
    """Install the filters above (idempotent: warnings.filterwarnings dedups entries)."""
    for category, message in _LIBRARY_WARNINGS:
        warnings.filterwarnings("ignore", message=message, category=category)


def quiet_kedro_plugins() -> None:
    """Start the `kedro` command quietly, without importing MLflow.

    Registered as a ``kedro.init`` entry point (pyproject.toml), so it runs when the `kedro`
    command starts, before Kedro loads its plugins' commands: the warning filters above are
    in place, and kedro-mlflow's CLI is a stand-in that imports MLflow (quietly) only when
    a ``kedro mlflow`` command runs (``integrations.lazy_kedro_mlflow``). The garbage
    collector sweeps less often, and not over the whole heap at exit (``process_gc``).
    """
    silence_library_warnings()
    from lstm_forecast.integrations.lazy_kedro_mlflow import install_lazy_cli  # noqa: PLC0415
    from lstm_forecast.integrations.process_gc import tune_for_one_command  # noqa: PLC0415

    install_lazy_cli()
    tune_for_one_command()
