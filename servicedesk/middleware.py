"""Project middleware."""


class PrivateNoStoreMiddleware:
    """Pages shown to a logged-in user are private: no browser history cache, no shared proxy keeps them.

    Anonymous pages (the login page, the survey link, the health checks) keep whatever they set
    themselves; static files are answered by WhiteNoise before this runs.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            response["Cache-Control"] = "private, no-store"
        return response
