from django.urls import path

from leads import (
    views,
    views_campaigns,
    views_import,
    views_merge,
    views_queue,
    views_reports,
    views_routing,
)

app_name = "leads"

urlpatterns = [
    path("", views.lead_list, name="list"),
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/summary/", views.inbox_summary, name="inbox_summary"),
    path("team/", views.team_inbox, name="team_inbox"),
    path("team/bulk/", views.team_bulk, name="team_bulk"),
    path("came-back/", views.came_back, name="came_back"),
    path("queue/", views_queue.queue, name="queue"),
    path("routing/", views_routing.routing_rules, name="routing"),
    path("routing/try/", views_routing.routing_try, name="routing_try"),
    path("preview/<int:version_id>/", views.definition_preview, name="definition_preview"),
    path("<int:pk>/", views.lead_detail, name="detail"),
    path("<int:pk>/accept/", views.accept, name="accept"),
    path("<int:pk>/reject/", views.reject, name="reject"),
    path("<int:pk>/touch/", views.touch, name="touch"),
    path("<int:pk>/qualify/", views.qualify, name="qualify"),
    path("<int:pk>/convert/", views.convert, name="convert"),
    path("<int:pk>/close/", views.close, name="close"),
    path("<int:pk>/reassign/", views.reassign, name="reassign"),
    path("<int:pk>/assign/", views_queue.assign, name="assign"),
    path("<int:pk>/dispute/", views.dispute, name="dispute"),
    path("<int:pk>/recycle/", views.recycle, name="recycle"),
    path("<int:pk>/merge/", views_merge.lead_merge, name="merge"),
    path("import/", views_import.import_start, name="import"),
    path("import/<int:pk>/", views_import.import_detail, name="import_detail"),
    path("import/<int:pk>/progress/", views_import.import_progress, name="import_progress"),
    path("import/<int:pk>/rejected.csv", views_import.import_report_csv, name="import_report_csv"),
    path("reports/<slug:name>/", views_reports.report_panel, name="report_panel"),
    path("campaigns/", views_campaigns.campaign_list, name="campaigns"),
    path("campaigns/new/", views_campaigns.campaign_new, name="campaign_new"),
    path("campaigns/<int:pk>/edit/", views_campaigns.campaign_edit, name="campaign_edit"),
]
