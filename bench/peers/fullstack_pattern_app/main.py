"""The ASGI app."""

from __future__ import annotations

from fastapi import FastAPI

from .routes import router

app = FastAPI(title="Peer: full-stack-fastapi-template backend pattern")
app.include_router(router)
