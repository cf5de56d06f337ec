"""Figures (Bokeh), interactive explorers, live widgets (ipywidgets) and the book's notebook
helpers. The top of the package with :mod:`llmviewer.cli`: nothing below imports it."""
