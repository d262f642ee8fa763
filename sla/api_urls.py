from django.urls import path
from rest_framework.routers import SimpleRouter

from sla import api_agreements, api_dashboard, api_engine, api_whatif

# Agreements (read, drafts, propose, sign, send back) and calendars (read).
router = SimpleRouter(trailing_slash=True)
router.register("agreements", api_agreements.AgreementViewSet, basename="api-sla-agreement")
router.register("calendars", api_agreements.CalendarViewSet, basename="api-sla-calendar")

urlpatterns = [
    path(
        "leads/<int:lead_id>/clocks/", api_engine.LeadClocks.as_view(), name="api-sla-lead-clocks"
    ),
    path("leads/<int:pk>/pause/", api_engine.LeadPause.as_view(), name="api-sla-lead-pause"),
    path("breaches/", api_engine.Breaches.as_view(), name="api-sla-breaches"),
    path(
        "agreements/<int:pk>/whatif/",
        api_whatif.AgreementWhatIf.as_view(),
        name="api-sla-agreement-whatif",
    ),
    path("cases/", api_engine.Cases.as_view(), name="api-sla-cases"),
    path("cases/<int:pk>/decide/", api_engine.CaseDecide.as_view(), name="api-sla-case-decide"),
    *[
        path(f"dashboard/{name}/", view.as_view(), name=f"api-sla-dashboard-{name}")
        for name, view in api_dashboard.PANEL_APIS.items()
    ],
]
urlpatterns += router.urls
