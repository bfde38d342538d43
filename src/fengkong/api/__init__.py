"""The HTTP API (FastAPI): ``create_app(settings)``; see ``docs/service.md``."""

from fengkong.api.app import create_app

__all__ = ["create_app"]
