"""The ASGI application: `uvicorn servicedesk.asgi:application` (scripts/run, deploy/).

Served this way, the dispatch board's push streams (servicedesk/push.py) are coroutines waiting on
a queue, so one web process holds hundreds of open boards; every other page runs as under WSGI,
which stays available (servicedesk/wsgi.py, deploy/gunicorn.conf.py) with the boards polling.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "servicedesk.settings")
application = get_asgi_application()
