"""Questions across many settings, answered as pandas DataFrames: device comparison and
ranking (:mod:`.compare`), prices (:mod:`.pricing`), parameter sweeps (:mod:`.sweep`)."""
