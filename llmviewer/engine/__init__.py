"""How it is analysed, with numpy only: operators (OPs and bytes), the roofline (one
per-operator evaluation, one pass time), efficiencies (read from data), analysis of a pass
and closed-form generation. Imports only :mod:`llmviewer.specs` and the base modules."""
