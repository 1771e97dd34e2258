"""Observability and compliance test harness for web-service stacks."""

__version__ = "0.1.0"
