"""The project's commands, where Kedro looks for them (``<package>.cli``).

Kedro 1.7 puts a project's ``cli`` group before its own commands and runs the project's
``run`` for ``python -m lstm_forecast``; both are defined in ``integrations.run_command``.
``serve`` starts the forecasting service (``lstm_forecast.serving``).
"""

from lstm_forecast.integrations.run_command import cli, run
from lstm_forecast.serving.command import serve

cli.add_command(serve)  # `kedro serve`: the forecasting HTTP service (lstm_forecast.serving)

__all__ = ["cli", "run"]
