"""The dashboard: server-rendered pages under /dashboard with Plotly figures, over the
API's reads, analytics and read checks (``routes``), HTML (``pages``) and the figure
builders (``figures``)."""

from connectomedb.service.dashboard.routes import router

__all__ = ["router"]
