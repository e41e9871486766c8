"""How the project plugs into the tools around it: Kedro hooks, run lock, tracking, runners."""
