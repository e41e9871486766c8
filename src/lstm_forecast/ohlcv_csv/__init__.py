"""Reading and checking OHLCV CSVs: layouts, the fast and general readers, parsing of
numbers and times, the value rules, the quality report and the wording of refusals.

Torch-free and Kedro-free: the ingestion stage calls it, and so can any other program.
"""
