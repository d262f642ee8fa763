from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import SimpleRouter

from alignment import api_webhooks, views, views_hours, views_security, views_webhooks

webhooks_api = SimpleRouter(trailing_slash=True)
webhooks_api.register(
    "endpoints", api_webhooks.WebhookEndpointViewSet, basename="api-webhook-endpoint"
)
webhooks_api.register(
    "deliveries", api_webhooks.WebhookDeliveryViewSet, basename="api-webhook-delivery"
)

urlpatterns = [
    path("", views.home, name="home"),
    path("team/", views.team, name="team"),
    path("team/<int:user_id>/away/", views.member_away, name="member_away"),
    path("team/<int:user_id>/routing/", views.member_routing, name="member_routing"),
    path("team/<int:user_id>/time-off/", views.time_off, name="time_off"),
    path("team/<int:user_id>/hours/", views_hours.hours, name="working_hours"),
    path("time-off/<int:pk>/cancel/", views.time_off_cancel, name="time_off_cancel"),
    path("health/", views.health, name="health"),
    path("notifications/", views.notifications, name="notifications"),
    path("profile/", views.profile, name="profile"),
    path("notifications/bell/", views.notification_bell, name="notification_bell"),
    path("tokens/", views_security.token_list, name="tokens"),
    path("tokens/<int:pk>/revoke/", views_security.token_revoke, name="token_revoke"),
    path("audit/", views_security.audit_trail, name="audit"),
    path("integrations/webhooks/", views_webhooks.webhook_list, name="webhooks"),
    path("integrations/webhooks/<int:pk>/", views_webhooks.webhook_detail, name="webhook"),
    path(
        "integrations/webhooks/<int:pk>/rotate/",
        views_webhooks.webhook_rotate,
        name="webhook_rotate",
    ),
    path(
        "integrations/webhooks/<int:pk>/delete/",
        views_webhooks.webhook_delete,
        name="webhook_delete",
    ),
    path(
        "integrations/webhooks/deliveries/<int:pk>/redeliver/",
        views_webhooks.webhook_redeliver,
        name="webhook_redeliver",
    ),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("glossary/", include("glossary.urls")),
    path("leads/", include("leads.urls")),
    path("sla/", include("sla.urls")),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/v1/leads/", include("leads.api_urls")),
    path("api/v1/glossary/", include("glossary.api_urls")),
    path("api/v1/sla/", include("sla.api_urls")),
    path(
        "api/v1/webhooks/event-types/",
        api_webhooks.EventTypeList.as_view(),
        name="api-webhook-event-types",
    ),
    path("api/v1/webhooks/", include(webhooks_api.urls)),
]

handler400 = "alignment.http_errors.bad_request"
handler403 = "alignment.http_errors.permission_denied"
handler404 = "alignment.http_errors.page_not_found"
handler500 = "alignment.http_errors.server_error"
