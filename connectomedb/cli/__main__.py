"""``python -m connectomedb.cli``."""

from connectomedb.cli import app

app()
