"""How the API answers a refusal: a business refusal (``ApplicationError``) is 400 with its translated message;
a refusal of the transition table or of a stale version is 409; a form's errors are 400 with each field's."""

from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from servicedesk.exceptions import ApplicationError


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT


def api_exception_handler(exc, context):
    if isinstance(exc, ApplicationError):
        body = {"detail": str(exc.message)}
        if exc.field:
            body["field"] = exc.field
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, exceptions.Throttled):
        exc.detail = _("Too many requests; try again in %(seconds)d seconds.") % {"seconds": int(exc.wait or 1)}
    return exception_handler(exc, context)
