from django.urls import path

from alignment import cosign_views
from alignment.permissions import capability_required
from glossary import views, views_platform

DRAFTER = capability_required("edit_definitions")

app_name = "glossary"

urlpatterns = [
    path("", views.index, name="index"),
    path("terms/", views.terms, name="terms"),
    path("terms/new/", views.term_edit, name="term_new"),
    path("terms/<slug:slug>/", views.term, name="term"),
    path("terms/<slug:slug>/edit/", views.term_edit, name="term_edit"),
    path("stages/<slug:key>/", views.stage, name="stage"),
    path("stages/<slug:key>/drafts/", views.draft_new, name="draft_new"),
    path("versions/<int:pk>/edit/", views.version_edit, name="version_edit"),
    *cosign_views.action_urls(views.PAGES, prefix="versions", drafter=DRAFTER),
    path("versions/<int:pk>/try/", views.version_try, name="version_try"),
    path("rule-row/", views.rule_row, name="rule_row"),
    path("rule-row/removed/", cosign_views.row_removed, name="rule_row_removed"),
    path("diff/", views.diff, name="diff"),
    path("messages/", views_platform.platform_index, name="platform"),
    path("messages/new/", views_platform.platform_new, name="platform_new"),
    path("messages/<int:pk>/edit/", views_platform.platform_edit, name="platform_edit"),
    *cosign_views.action_urls(views_platform.PAGES, prefix="messages", drafter=DRAFTER),
    path("signatures/", views.signatures, name="signatures"),
    path("signatures/panel/", views.signatures_panel, name="signatures_panel"),
]
