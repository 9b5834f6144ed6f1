"""What to do with the codes N(E(x)), in plain numpy on the codes (the model
calls stay in inference/, the public methods in api.py): fit.py fits the
linear read-outs (logistic regression, ridge least squares) on a held-out
split and gives directions, orthogonalising, principal axes and the walks
along them; directions.py finds a direction from two classes of examples or
checks one a user gives; similarity.py computes cosine similarity in
blocks (nearest neighbours, near-duplicate pairs); index.py holds the codes
of a folder as an Index, with its neighbours and duplicates; cache.py keeps
an index folder's codes in the run folder; files.py reads and writes
direction files, attribute tables and folder listings."""
