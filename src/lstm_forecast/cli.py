"""The project's commands, where Kedro looks for them (``<package>.cli``).

Kedro 1.7 puts a project's ``cli`` group before its own commands and runs the project's
``run`` for ``python -m lstm_forecast``; both are defined in ``integrations.run_command``.
"""

from lstm_forecast.integrations.run_command import cli, run

__all__ = ["cli", "run"]
