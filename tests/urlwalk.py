"""Every URL pattern the project serves, read from the resolver, so a test that walks them misses none."""

import uuid
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.converters import IntConverter, PathConverter, SlugConverter, StringConverter, UUIDConverter

SAMPLE_BY_CONVERTER = {
    IntConverter: 1,
    SlugConverter: "sample",
    StringConverter: "sample",
    PathConverter: "sample",
    UUIDConverter: uuid.UUID(int=1),
}


@dataclass(frozen=True)
class Route:
    name: str  # "namespace:name"
    route: str  # the path pattern, e.g. "calls/<int:pk>/"
    converters: tuple  # ((kwarg, converter class), ...); empty for regex routes
    is_regex: bool
    view: object

    @property
    def namespace(self) -> str:
        return self.name.rpartition(":")[0]

    @property
    def kwargs(self) -> tuple:
        return tuple(name for name, _ in self.converters)

    def sample_kwargs(self, **given) -> dict:
        return {name: given.get(name, SAMPLE_BY_CONVERTER.get(conv, "sample")) for name, conv in self.converters}


def _converters(pattern) -> tuple:
    return tuple((name, type(conv)) for name, conv in getattr(pattern, "converters", {}).items())


def routes(patterns=None, *, prefix="", namespace="", converters=(), regex=False):
    """Yield every named route, with its namespaced name and the converters of its whole path."""
    if patterns is None:
        patterns = get_resolver().url_patterns
    for entry in patterns:
        is_regex = regex or not hasattr(entry.pattern, "converters")
        if isinstance(entry, URLResolver):
            ns = ":".join(filter(None, [namespace, entry.namespace]))
            yield from routes(
                entry.url_patterns,
                prefix=prefix + str(entry.pattern),
                namespace=ns,
                converters=converters + _converters(entry.pattern),
                regex=is_regex,
            )
        elif isinstance(entry, URLPattern) and entry.name:
            yield Route(
                name=":".join(filter(None, [namespace, entry.name])),
                route=prefix + str(entry.pattern),
                converters=converters + _converters(entry.pattern),
                is_regex=is_regex,
                view=entry.callback,
            )
