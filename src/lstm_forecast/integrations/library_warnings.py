"""Silence library warnings that a user of this project cannot act on.

Each entry names the library that emits it and why it is harmless here. Anything not
listed still reaches the console. Installed on import of the package, so it also covers
the spawned export process and notebooks (kedro.ipython imports the settings first).
"""

import logging
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
    """Import kedro-mlflow's CLI quietly, before Kedro loads plugin commands.

    Registered as a ``kedro.init`` entry point (pyproject.toml), so it runs when the `kedro`
    command starts. kedro-mlflow's model class has an untyped ``predict``, and MLflow warns
    about it, over a dozen coloured lines, when the class is defined: at every `kedro` start,
    tracked or not. The warning reaches the console through Kedro's logging of warnings
    (``py.warnings``), past the warning filters, so that logger is muted for this import.
    Kedro's own import of the plugin then finds the module loaded.
    """
    silence_library_warnings()
    captured = logging.getLogger("py.warnings")
    muted, captured.disabled = captured.disabled, True
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import kedro_mlflow.framework.cli.cli  # noqa: F401, PLC0415
    except ImportError:
        pass
    finally:
        captured.disabled = muted
    # Both set their own loggers to INFO when imported, which is after conf/logging.yml was
    # applied: store creation, resolver registration and URI notes on every tracked start.
    for name in ("kedro_mlflow", "mlflow"):
        logging.getLogger(name).setLevel(logging.WARNING)
