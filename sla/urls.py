from django.urls import path

from sla import views, views_arbiter

app_name = "sla"

urlpatterns = [
    path("arbiter/", views_arbiter.queue, name="arbiter_queue"),
    path("arbiter/panel/", views_arbiter.queue_panel, name="arbiter_panel"),
    path("arbiter/cases/<int:pk>/", views_arbiter.case_detail, name="case_detail"),
    path("arbiter/cases/<int:pk>/decide/", views_arbiter.case_decide_view, name="case_decide"),
    path("leads/<int:lead_id>/clocks/", views_arbiter.lead_clocks, name="lead_clocks"),
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
]
