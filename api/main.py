"""The ASGI app for `uvicorn api.main:app` (several workers): settings from the environment."""

from api.allocator import limit_arenas

limit_arenas()  # each worker is a process of its own, its threads not started yet

from api.app import create_app  # noqa: E402  (after the allocator's limit)

app = create_app()
