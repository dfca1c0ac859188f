"""Sub-commands of the ``cmehub`` command line, one module per area; each offers a typer ``app``."""
