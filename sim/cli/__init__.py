"""Subcommands that ``sim`` adds to the ``meanfield`` console script.

Each module is a plugin of the entry-point group ``meanfield.commands`` (pyproject.toml):
``add_parser(subparsers)`` registers it and ``run(args)`` runs it.  ``output`` checks where
results are written before any work starts.
"""
