"""Centinela: find clandestine flights in radar and ADS-B data.

The pipeline runs one way — sources → ingest → track → detect → assess → alert → report — and every
stage takes and returns pandas DataFrames whose columns are documented in :mod:`centinela.model`.
"""

__version__ = "0.1.0"
