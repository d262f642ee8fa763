"""The SLA dashboard panels as JSON (the charts' data), for the API and its schema."""

from leads.api_reports import report_api
from sla.views_dashboard import PANELS, SLA_PANELS

TITLES = dict(SLA_PANELS)

PANEL_APIS = {
    name: report_api(name, build, TITLES[name], "sla-dashboard")
    for name, (build, _headline) in PANELS.items()
}
