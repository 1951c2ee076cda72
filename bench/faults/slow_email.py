"""A test-only e-mail backend: a slow mail server in front of Django's file-based backend.

``DJANGO_EMAIL_BACKEND=bench.faults.slow_email.EmailBackend`` with ``DJANGO_EMAIL_FILE_PATH``: each message
waits ``FAULTS_EMAIL_DELAY`` seconds (default 0.5) and is then written to the folder, so a worker killed
during delivery is killed while a message is "on the wire", and the folder shows every message that was sent.
"""

import os
import time

from django.core.mail.backends import filebased


class EmailBackend(filebased.EmailBackend):
    def send_messages(self, email_messages):
        delay = float(os.environ.get("FAULTS_EMAIL_DELAY", "0.5"))
        sent = 0
        for message in email_messages:
            time.sleep(delay)
            sent += super().send_messages([message]) or 0
        return sent
