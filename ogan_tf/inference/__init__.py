"""The one place a trained G and E are called, for training's grids, the
evaluation, the API and the applications alike: model_calls.py encodes,
decodes, reconstructs and interpolates numpy batches (a direct call, or a
FixedBatch of one traced shape for a server) and encodes many files;
codes.py checks codes a user gives and makes an interpolation's mixes;
images.py reads images in as training does (arrays, files, members of a
dataset zip; many files on a thread pool); outputs.py writes images and
grids of them out; grids.py draws and writes a run's three sample grids;
export.py writes a run's G and E as plain Keras files."""
