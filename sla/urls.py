from django.urls import path

from alignment import cosign_views
from sla import views, views_arbiter, views_capacity, views_pauses, views_whatif
from sla import views_agreements as agreements
from sla import views_dashboard as dash

app_name = "sla"

urlpatterns = [
    path("arbiter/", views_arbiter.queue, name="arbiter_queue"),
    path("arbiter/panel/", views_arbiter.queue_panel, name="arbiter_panel"),
    path("arbiter/cases/<int:pk>/", views_arbiter.case_detail, name="case_detail"),
    path("arbiter/cases/<int:pk>/decide/", views_arbiter.case_decide_view, name="case_decide"),
    path("leads/<int:lead_id>/clocks/", views_arbiter.lead_clocks, name="lead_clocks"),
    path("leads/<int:lead_id>/pause/", views_pauses.lead_pause, name="lead_pause"),
    path("calendars/", views.calendar_list, name="calendars"),
    path("calendars/new/", views.calendar_create, name="calendar_create"),
    path("calendars/<int:pk>/", views.calendar_detail, name="calendar_detail"),
    path("calendars/<int:pk>/edit/", views.calendar_edit, name="calendar_edit"),
    path("calendars/<int:pk>/week/", views.calendar_week, name="calendar_week"),
    path("calendars/<int:pk>/closures/", views.closure_add, name="closure_add"),
    path(
        "calendars/<int:pk>/closures/<int:closure_pk>/remove/",
        views.closure_remove,
        name="closure_remove",
    ),
    path("campaigns/calendar/", views_capacity.campaign_calendar, name="campaign_calendar"),
    path("agreements/", agreements.agreement_list, name="agreements"),
    path("agreements/new/", agreements.agreement_new, name="agreement_new"),
    path("agreements/compare/", agreements.agreement_diff, name="agreement_diff"),
    path("agreements/history/", agreements.agreement_history, name="agreement_history"),
    path("agreements/signatures/", agreements.agreement_signatures, name="signatures"),
    path(
        "agreements/signatures/panel/",
        agreements.agreement_signatures_panel,
        name="signatures_panel",
    ),
    path("agreements/goal-row/", agreements.agreement_goal_row, name="agreement_goal_row"),
    path(
        "agreements/goal-row/removed/",
        cosign_views.row_removed,
        name="agreement_goal_row_removed",
    ),
    path("agreements/<int:pk>/edit/", agreements.agreement_edit, name="agreement_edit"),
    path("agreements/<int:pk>/whatif/", views_whatif.agreement_whatif, name="agreement_whatif"),
    *cosign_views.action_urls(
        agreements.PAGES, prefix="agreements", drafter=agreements.drafter_required
    ),
    path("dashboard/", dash.dashboard_page, name="dashboard"),
    path("dashboard/panels/<slug:name>/", dash.panel, name="panel"),
    path("dashboard/breaches-summary/", dash.breaches_panel, name="breaches_panel"),
    path("dashboard/commitment-summary/", dash.commitment_panel, name="commitment_panel"),
    path("dashboard/target/", dash.revenue_target, name="revenue_target"),
    path("dashboard/views/", dash.saved_view_save, name="saved_view_save"),
    path("dashboard/views/<int:pk>/delete/", dash.saved_view_delete, name="saved_view_delete"),
    path("reviews/", dash.review_list, name="reviews"),
    path("reviews/<int:pk>/", dash.review_detail, name="review_detail"),
    path("reviews/<int:pk>/decisions/", dash.review_decision, name="review_decision"),
    path("reviews/<int:pk>/actions/", dash.review_action, name="review_action"),
    path(
        "reviews/<int:pk>/actions/<int:action_pk>/status/",
        dash.review_action_status,
        name="review_action_status",
    ),
    path("reviews/<int:pk>/close/", dash.review_close, name="review_close"),
]
