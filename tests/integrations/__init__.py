"""Tests of lstm_forecast.integrations."""
