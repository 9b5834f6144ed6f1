"""A run on disk, plain files (no Keras but models.py):

  folder.py   RunDir: config.json, metrics.jsonl, checkpoints, moving a run aside
  names.py    the names of a run's files (checkpoints, EMA files, the export)
  files.py    atomic writes and a full disk
  lock.py     one trainer per run
  resolve.py  what a --run argument names (a run, a run folder, an export)
  weights.py  which weights a user asks for (raw or an EMA)
  models.py   loading and saving a run's Keras models
"""
