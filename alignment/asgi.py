import os

from django.core.asgi import get_asgi_application

from alignment.startup import freeze_loaded

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alignment.settings")
application = get_asgi_application()
freeze_loaded()  # what the app loaded lives as long as the process (alignment.startup)
