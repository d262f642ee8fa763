"""The project's URLs plus the SLA API, mounted as alignment/urls.py should mount it."""

from django.urls import include, path

from alignment.urls import urlpatterns as project_urlpatterns

urlpatterns = [
    path("api/v1/sla/", include("sla.api_urls")),
    *[p for p in project_urlpatterns if "api/v1/sla" not in str(p.pattern)],
]
