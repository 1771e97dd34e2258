"""Just enough HTML form parsing to log in the way a browser would, with the standard library.

Login and consent pages are small and server-rendered; a full browser is not needed to read
their forms, only the action, the method, the hidden fields and the submit buttons.
"""

from __future__ import annotations

from html.parser import HTMLParser

from pydantic import BaseModel, Field

_TEXTUAL = {"text", "email", "password", "hidden", "search", "tel", "url", "number", ""}


class FormField(BaseModel):
    name: str
    type: str = "text"
    value: str = ""
    id: str | None = None


class SubmitButton(BaseModel):
    name: str | None = None
    value: str = ""
    id: str | None = None
    text: str = ""


class HtmlForm(BaseModel):
    action: str | None = None
    method: str = "get"
    id: str | None = None
    fields: list[FormField] = Field(default_factory=list)
    buttons: list[SubmitButton] = Field(default_factory=list)

    def field(self, name: str) -> FormField | None:
        return next((f for f in self.fields if f.name == name), None)

    def has_password(self) -> bool:
        return any(f.type == "password" for f in self.fields)

    def values(self) -> dict[str, str]:
        """What a browser submits before the user types: hidden and prefilled fields."""
        return {f.name: f.value for f in self.fields if f.type in _TEXTUAL}

    def approve_button(self) -> SubmitButton | None:
        """The button that grants/approves (consent pages carry a deny button too)."""
        words = ("approve", "allow", "agree", "accept", "authori", "grant", "continue", "login")
        for button in self.buttons:
            label = " ".join(x or "" for x in (button.id, button.value, button.text)).lower()
            if any(word in label for word in words):
                return button
        return self.buttons[0] if self.buttons else None


class PageInfo(BaseModel):
    forms: list[HtmlForm] = Field(default_factory=list)
    meta: dict[str, str] = Field(default_factory=dict, description="meta name -> content")


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.info = PageInfo()
        self._form: HtmlForm | None = None
        self._button: SubmitButton | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k.lower(): (v or "") for k, v in attrs}
        if tag == "meta" and a.get("name"):
            self.info.meta[a["name"].lower()] = a.get("content", "")
        elif tag == "form":
            self._form = HtmlForm(
                action=a.get("action") or None,
                method=(a.get("method") or "get").lower(),
                id=a.get("id") or None,
            )
            self.info.forms.append(self._form)
        elif self._form is None:
            return
        elif tag == "input":
            kind = a.get("type", "text").lower()
            if kind in ("submit", "image"):
                self._form.buttons.append(
                    SubmitButton(
                        name=a.get("name") or None, value=a.get("value", ""), id=a.get("id") or None
                    )
                )
            elif a.get("name") and kind not in ("checkbox", "radio", "file", "reset", "button"):
                self._form.fields.append(
                    FormField(
                        name=a["name"], type=kind, value=a.get("value", ""), id=a.get("id") or None
                    )
                )
            elif a.get("name") and kind in ("checkbox", "radio") and "checked" in a:
                self._form.fields.append(
                    FormField(name=a["name"], type="hidden", value=a.get("value", "on"))
                )
        elif tag == "button" and a.get("type", "submit").lower() == "submit":
            self._button = SubmitButton(
                name=a.get("name") or None, value=a.get("value", ""), id=a.get("id") or None
            )
            self._form.buttons.append(self._button)
        elif tag == "textarea" and a.get("name"):
            self._form.fields.append(FormField(name=a["name"], type="textarea"))

    def handle_data(self, data: str) -> None:
        if self._button is not None:
            self._button.text += data.strip()

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "button":
            self._button = None


def parse_page(html: str) -> PageInfo:
    parser = _Parser()
    parser.feed(html)
    parser.close()
    return parser.info
