"""CME Hub services: the register, matching, the API and the `cmehub` command."""
