"""A page's queries as a user's second request counts them (tests of issue 17's query budgets)."""

from django.db import DEFAULT_DB_ALIAS, connections
from django.test.utils import CaptureQueriesContext


def page_queries(client, url) -> tuple[int, str]:
    """(queries, page text) of ``url`` on its second request: the first of a process fills its caches (content
    types, templates, the user's kept permissions)."""
    client.get(url)
    with CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(captured.captured_queries), response.text
