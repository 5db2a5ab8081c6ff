"""Helpers for the entry points: instantiation, run metadata, metrics file, task wrapper."""
