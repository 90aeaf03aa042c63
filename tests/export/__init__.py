"""Tests of bulk export (connectomedb/export, store/export.py, store/fingerprint.py)."""
