"""What is analysed: the model (:mod:`.models`), the device (:mod:`.hardware`) and the
workload of a forward pass (:mod:`.workload`). Imports nothing else of llmviewer but the
base modules (errors, paths, arrays)."""
