"""Use the codes N(E(x)): attribute directions, edits, neighbours and
principal axes, in plain numpy.

  fit.py         read-outs (logistic regression, ridge least squares), the
                 held-out split, directions from examples, orthogonalising,
                 principal axes and the walks along them
  similarity.py  cosine similarity in blocks: nearest neighbours, near-duplicate pairs
  files.py       direction files (.npy + .json sidecar), attribute tables
                 (CelebA list_attr_celeba.txt, CSV), folder listings
  cache.py       the cache of an index folder's codes

The model calls (encode, decode) are in api.py's OganModel (direction,
edit, principal, walk, index, neighbours); the commands in cli/use.py.
"""
