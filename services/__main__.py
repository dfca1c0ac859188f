"""``python -m services`` runs the ``cmehub`` command."""

from services.cli import app

app()
