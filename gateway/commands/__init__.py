"""One module per `hazard-gateway` subcommand; each exposes ``register(subparsers)``."""
