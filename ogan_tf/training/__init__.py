"""A training run: the settings it trains with (plan.py, folder_recipe.py,
speed.py), the wiring config -> data -> fit (train.py), the one step-end
callback (step_end.py) and what it calls (monitors.py, callbacks.py),
faults and signals (faults.py), distribution (distribute.py, hardware.py).
A run ends with an export and may evaluate while it trains."""
