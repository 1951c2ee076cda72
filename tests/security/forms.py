"""The POST forms of a page, read from its HTML: their field names, as a browser would submit them."""

from dataclasses import dataclass, field
from html.parser import HTMLParser

# Fields every page's forms carry that are not the form's own data.
NOT_DATA = {"csrfmiddlewaretoken", "next", "language"}


@dataclass
class PostForm:
    action: str
    fields: dict = field(default_factory=dict)  # name -> tag kind: "text", "select", "textarea", "file", ...
    values: dict = field(default_factory=dict)  # name -> the value the page filled in (hidden, selected, checked)
    options: dict = field(default_factory=dict)  # select name -> its option values


class _FormParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[PostForm] = []
        self._form = None
        self._select = None
        self._textarea = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._form = PostForm(action=a.get("action") or "") if (a.get("method") or "").lower() == "post" else None
            if self._form is not None:
                self.forms.append(self._form)
            return
        if self._form is None:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = (a.get("type") or "text").lower()
            if kind in ("submit", "button", "image", "reset"):
                return
            self._form.fields[name] = kind
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self._form.values[name] = a.get("value", "on")
            elif a.get("value") is not None:
                self._form.values[name] = a["value"]
        elif tag == "select" and name:
            self._form.fields[name] = "select"
            self._form.options[name] = []
            self._select = name
        elif tag == "option" and self._select:
            value = a.get("value", "")
            self._form.options[self._select].append(value)
            if "selected" in a:
                self._form.values[self._select] = value
        elif tag == "textarea" and name:
            self._form.fields[name] = "textarea"
            self._textarea = name

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._form is not None and self._textarea and data.strip():
            self._form.values[self._textarea] = data


def post_forms(html: str) -> list[PostForm]:
    parser = _FormParser()
    parser.feed(html)
    return parser.forms
