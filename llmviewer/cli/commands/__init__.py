"""One module per subcommand, each with ``HELP`` (one line), ``PARENTS`` (the shared flag
groups of :mod:`llmviewer.cli.options` that apply to it), ``configure(parser)`` (its own flags)
and ``run(args) -> exit status``. Command modules import the engine only inside ``run``, so that
building the parser stays cheap."""

COMMANDS = (
    "analyze",
    "generate",
    "rank",
    "speculative",
    "moe",
    "compress",
    "serve",
    "plan",
    "longctx",
    "energy",
    "encode",
    "models",
    "hardware",
)
"""The registry: subcommand names in the order ``llmviewer --help`` lists them (module = name)."""
