from django.urls import path

from glossary import views, views_platform

app_name = "glossary"

urlpatterns = [
    path("", views.index, name="index"),
    path("terms/", views.terms, name="terms"),
    path("terms/new/", views.term_edit, name="term_new"),
    path("terms/<slug:slug>/", views.term, name="term"),
    path("terms/<slug:slug>/edit/", views.term_edit, name="term_edit"),
    path("stages/<slug:key>/", views.stage, name="stage"),
    path("stages/<slug:key>/drafts/", views.draft_new, name="draft_new"),
    path("versions/<int:pk>/", views.version, name="version"),
    path("versions/<int:pk>/edit/", views.version_edit, name="version_edit"),
    path("versions/<int:pk>/propose/", views.version_propose, name="version_propose"),
    path("versions/<int:pk>/discard/", views.version_discard, name="version_discard"),
    path("versions/<int:pk>/sign/", views.version_sign, name="version_sign"),
    path("versions/<int:pk>/send-back/", views.version_send_back, name="version_send_back"),
    path("versions/<int:pk>/try/", views.version_try, name="version_try"),
    path("rule-row/", views.rule_row, name="rule_row"),
    path("rule-row/removed/", views.rule_row_removed, name="rule_row_removed"),
    path("diff/", views.diff, name="diff"),
    path("messages/", views_platform.platform_index, name="platform"),
    path("messages/new/", views_platform.platform_new, name="platform_new"),
    path("messages/<int:pk>/", views_platform.platform_version, name="platform_version"),
    path("messages/<int:pk>/edit/", views_platform.platform_edit, name="platform_edit"),
    path("messages/<int:pk>/propose/", views_platform.platform_propose, name="platform_propose"),
    path("messages/<int:pk>/discard/", views_platform.platform_discard, name="platform_discard"),
    path("messages/<int:pk>/sign/", views_platform.platform_sign, name="platform_sign"),
    path(
        "messages/<int:pk>/send-back/",
        views_platform.platform_send_back,
        name="platform_send_back",
    ),
    path("signatures/", views.signatures, name="signatures"),
    path("signatures/panel/", views.signatures_panel, name="signatures_panel"),
]
