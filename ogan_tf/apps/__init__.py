"""Applications built on inference/ and api.py like any other caller: the
local page (serve/), the codes in TensorBoard's projector (projector.py),
and what each model command writes (commands.py, one function per command)."""
