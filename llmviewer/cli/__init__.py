"""The ``llmviewer`` command line: :func:`main` (the entry point) and :func:`run` (returns the
exit status). One module per subcommand in :mod:`.commands`."""

from .app import build_parser, main, run

__all__ = ["build_parser", "main", "run"]
