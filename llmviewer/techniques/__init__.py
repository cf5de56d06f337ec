"""Inference techniques on the engine: compression, mixture of experts, speculative and other
fast decoding, contextual sparsity, serving systems and what-if devices. Physics only: no
argparse, no Bokeh (their command lines live in :mod:`llmviewer.cli.commands`, their
explorers in :mod:`llmviewer.viz`)."""
