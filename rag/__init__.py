"""newsrag's engine: schemas, embeddings, the Chroma store, retrieval and answering.

Knows nothing of HTTP or files on disk; `index/` and `api/` build on it.
"""
