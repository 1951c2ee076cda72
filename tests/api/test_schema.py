"""The OpenAPI schema generates without a warning, and its docs page serves its files from the site (no CDN)
under the site's Content-Security-Policy."""

import re

from django.contrib.staticfiles import finders
from django.urls import reverse
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator

from .conftest import ApiClient


def test_the_schema_generates_without_warnings_or_errors(capsys):
    GENERATOR_STATS.reset()
    schema = SchemaGenerator().get_schema(request=None, public=True)
    GENERATOR_STATS.emit_summary()
    assert not GENERATOR_STATS._warn_cache and not GENERATOR_STATS._error_cache, capsys.readouterr().err
    paths = schema["paths"]
    assert {"/api/v1/calls/", "/api/v1/calls/{id}/dispatch/", "/api/v1/opinions/{id}/"} <= set(paths)
    log = paths["/api/v1/calls/"]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    fields = schema["components"]["schemas"][log.rsplit("/", 1)[1]]["properties"]
    assert fields["problem"]["maxLength"] == 2000  # the page's form's bound
    assert schema["components"]["securitySchemes"]["apiToken"]["scheme"] == "bearer"


def test_the_schema_needs_a_login_or_a_token(client, api_for, dispatcher):
    assert ApiClient(None).get(reverse("api:schema")).status_code in (302, 401)
    assert api_for(dispatcher).get(reverse("api:schema"), {"format": "json"}).status_code == 200
    client.force_login(dispatcher)
    assert client.get(reverse("api:schema")).status_code == 200


def test_the_docs_page_loads_its_files_from_the_site_without_inline_script(client, dispatcher):
    assert client.get(reverse("api:docs")).status_code == 302  # anonymous: sent to log in
    client.force_login(dispatcher)
    response = client.get(reverse("api:docs"))
    assert response.status_code == 200
    html = response.text
    assert "https://" not in html and "//cdn" not in html
    assert "script-src" in response["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"]).group(1)
    for tag in re.findall(r"<script[^>]*>", html):
        assert "src=" in tag, f"inline script under the CSP: {tag}"
    assert f'<style nonce="{nonce}">' in html
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    static = [s for s in sources if s.startswith("/static/")]
    assert len(static) >= 3
    for path in static:
        assert finders.find(path.removeprefix("/static/")), f"{path} is not a file of the site"
    script = next(s for s in sources if "script" in s and not s.startswith("/static/"))
    init = client.get(script)
    assert init.status_code == 200 and "SwaggerUIBundle" in init.text
