"""Applications built on the inference layer: the local page (serve/), the
projector files, and what each model command writes (one call per command)."""
