"""What a browser would submit from a page's form: its fields and their current values."""

from html.parser import HTMLParser


class _FormParser(HTMLParser):
    def __init__(self, form_id: str | None):
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.inside = False
        self.depth = 0
        self.data: dict[str, list[str]] = {}
        self.selects: dict[str, bool] = {}  # name -> multiple
        self._select: str | None = None
        self._select_has_selected = False
        self._first_option: str | None = None
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "form":
            if not self.inside and (self.form_id is None or attributes.get("id") == self.form_id):
                self.inside = True
                self.depth = 0
            elif self.inside:
                self.depth += 1
            return
        if not self.inside:
            return
        name = attributes.get("name")
        if tag == "input" and name:
            kind = (attributes.get("type") or "text").lower()
            if kind in ("submit", "button", "image", "reset", "file"):
                return
            if kind in ("checkbox", "radio") and "checked" not in attributes:
                return
            self.data.setdefault(name, []).append(attributes.get("value", "on" if kind == "checkbox" else ""))
        elif tag == "select" and name:
            self._select = name
            self.selects[name] = "multiple" in attributes
            self._select_has_selected = False
            self._first_option = None
            self.data.setdefault(name, [])
        elif tag == "option" and self._select:
            value = attributes.get("value", "")
            if self._first_option is None:
                self._first_option = value
            if "selected" in attributes:
                self._select_has_selected = True
                self.data[self._select].append(value)
        elif tag == "textarea" and name:
            self._textarea = name
            self._text = []

    def handle_endtag(self, tag):
        if tag == "form" and self.inside:
            if self.depth == 0:
                self.inside = False
            else:
                self.depth -= 1
        elif tag == "select" and self._select:
            if not self._select_has_selected and not self.selects[self._select] and self._first_option is not None:
                self.data[self._select].append(self._first_option)
            self._select = None
        elif tag == "textarea" and self._textarea:
            self.data.setdefault(self._textarea, []).append("".join(self._text).lstrip("\n"))
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self._text.append(data)


def form_data(html: str, form_id: str | None = None) -> dict[str, list[str]]:
    """The fields of the form `form_id` (else the first form) with the values a browser would send."""
    parser = _FormParser(form_id)
    parser.feed(html)
    return parser.data
