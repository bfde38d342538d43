"""The web UI (``/ui``): server-rendered pages over the same services and roles as the API.

See :mod:`fengkong.ui.views` for the screens, :mod:`fengkong.ui.charts` for the SVG charts and
:mod:`fengkong.ui.i18n` for the English and Chinese labels.
"""

from fengkong.ui.views import router

__all__ = ["router"]
