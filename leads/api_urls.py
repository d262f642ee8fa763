from django.urls import path

from leads import api, api_pools, api_queue, api_reports, api_routing

urlpatterns = [
    path("", api.LeadListCreate.as_view(), name="api-leads"),
    path("bulk/", api.LeadBulk.as_view(), name="api-leads-bulk"),
    path("queue/", api_queue.LeadQueue.as_view(), name="api-leads-queue"),
    path("routing/rules/", api_routing.RoutingRules.as_view(), name="api-routing-rules"),
    path("routing/pools/", api_pools.Pools.as_view(), name="api-routing-pools"),
    path("routing/pools/<int:pk>/", api_pools.PoolDetail.as_view(), name="api-routing-pool"),
    path("routing/explain/", api_routing.RoutingExplain.as_view(), name="api-routing-explain"),
    path("<int:pk>/", api.LeadDetail.as_view(), name="api-lead"),
    path("<int:pk>/accept/", api.accept, name="api-lead-accept"),
    path("<int:pk>/reject/", api.reject, name="api-lead-reject"),
    path("<int:pk>/touches/", api.touches, name="api-lead-touches"),
    path("<int:pk>/qualify/", api.qualify, name="api-lead-qualify"),
    path("<int:pk>/convert/", api.convert, name="api-lead-convert"),
    path("<int:pk>/close/", api.close, name="api-lead-close"),
    path("<int:pk>/reassign/", api.reassign, name="api-lead-reassign"),
    path("<int:pk>/assign/", api_queue.LeadAssign.as_view(), name="api-lead-assign"),
    path("<int:pk>/dispute/", api.dispute, name="api-lead-dispute"),
    path("<int:pk>/merge/", api.merge_into, name="api-lead-merge"),
    path("reports/funnel/", api_reports.FunnelAPI.as_view(), name="api-report-funnel"),
    path("reports/handoff/", api_reports.HandoffAPI.as_view(), name="api-report-handoff"),
    path("reports/scoring/", api_reports.ScoringAPI.as_view(), name="api-report-scoring"),
]
