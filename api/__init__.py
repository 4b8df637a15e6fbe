"""The front doors: the HTTP API (FastAPI), the web chat page, and the `rag` command line."""
