"""One module per `cadis` subcommand (see engine/cli/__init__.py for the protocol)."""
