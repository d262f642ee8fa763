"""Mounted by alignment/urls.py at api/v1/glossary/."""

from rest_framework.routers import SimpleRouter

from glossary import api

router = SimpleRouter(trailing_slash=True)
router.register("stages", api.StageViewSet, basename="glossary-stage")
router.register("terms", api.TermViewSet, basename="glossary-term")
router.register("rejection-reasons", api.RejectionReasonViewSet, basename="glossary-reason")
router.register("definitions", api.DefinitionViewSet, basename="glossary-definition")
router.register("message-platform", api.MessagePlatformViewSet, basename="glossary-platform")

urlpatterns = router.urls
