"""Pieces shared by the apps' admin modules.

Write-only secrets (the admin accepts a new value or a "clear" but never shows the
stored one), coloured status badges, and read-only JSON and raw-body displays that
always escape what a provider sent us.
"""

import json
from typing import Any, NamedTuple

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import models
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.text import Truncator, capfirst

from socialportal.crypto import EncryptedTextField

# One colour per status value; the vocabularies share words ("failed", "pending")
# and mean the same by them, so one table serves every model.
STATUS_COLOURS = {
    "connected": "#2e7d32",
    "processed": "#2e7d32",
    "reported": "#2e7d32",
    "sent": "#2e7d32",
    "received": "#1565c0",
    "pending": "#1565c0",
    "sending": "#6a1b9a",
    "unmatched": "#ef6c00",
    "needs_reconnect": "#ef6c00",
    "ignored": "#757575",
    "disconnected": "#757575",
    "failed": "#c62828",
    "rejected": "#c62828",
}
DEFAULT_COLOUR = "#757575"

# For formfield_overrides: the URLs we store are https, so a scheme-less entry
# should not become http (Django 5 still defaults to http and warns about it).
HTTPS_URL_FIELDS: dict[type[models.Field], dict[str, Any]] = {
    models.URLField: {"assume_scheme": "https"}
}


def status_badge(value: str, label: str) -> SafeString:
    """A small coloured label for a status column."""
    colour = STATUS_COLOURS.get(value, DEFAULT_COLOUR)
    return format_html(
        '<span style="background:{};color:#fff;padding:1px 7px;'
        'border-radius:8px;white-space:nowrap">{}</span>',
        colour,
        label,
    )


def short(text: str, length: int = 80) -> str:
    """First line of a long text, cut to fit a changelist column."""
    first_line = text.strip().splitlines()[0] if text.strip() else ""
    return Truncator(first_line).chars(length)


def pretty_json(value: Any) -> SafeString:
    """JSON indented inside a <pre>; format_html escapes every character of it."""
    text = json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)
    return format_html('<pre style="white-space:pre-wrap">{}</pre>', text)


def pretty_body(body: bytes | memoryview) -> SafeString:
    """A raw request body as text: indented when it is JSON, verbatim otherwise.

    Bytes that are not UTF-8 show as replacement characters; the body may be
    anything a caller with the right signature sent, so it is only ever escaped.
    """
    text = bytes(body).decode("utf-8", errors="replace")
    try:
        return pretty_json(json.loads(text))
    except ValueError:
        return format_html('<pre style="white-space:pre-wrap">{}</pre>', text)


class SecretChange(NamedTuple):
    """What the operator asked for: a new value, a clear, or (neither) no change."""

    new_value: str
    clear: bool


class WriteOnlySecretWidget(forms.MultiWidget):
    """A password box, whether a value is stored, and a "clear" checkbox.

    Whatever value the form hands it, the box renders empty: the stored secret
    never reaches the page.
    """

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        # new-password stops browsers from auto-filling a saved admin login
        # password into the box, which would silently replace the secret.
        password = forms.PasswordInput(
            render_value=False, attrs={"autocomplete": "new-password"}
        )
        super().__init__([password, forms.CheckboxInput()], attrs)
        self.is_set = False

    def decompress(self, value: Any) -> list[Any]:
        return ["", False]

    def id_for_label(self, id_: str) -> str:
        # The field's label points at the password box, not the checkbox.
        return f"{id_}_0" if id_ else ""

    def render(
        self,
        name: str,
        value: Any,
        attrs: dict[str, Any] | None = None,
        renderer: Any = None,
    ) -> SafeString:
        base_id = self.build_attrs(self.attrs, attrs).get("id", f"id_{name}")
        box = self.widgets[0].render(
            f"{name}_0", None, {"id": f"{base_id}_0"}, renderer
        )
        clear = self.widgets[1].render(
            f"{name}_1", False, {"id": f"{base_id}_1"}, renderer
        )
        state = "set" if self.is_set else "not set"
        return format_html(
            '{} <strong class="secret-state">{}</strong> '
            '<label for="{}_1" style="display:inline;float:none">{} clear</label>',
            box,
            state,
            base_id,
            clear,
        )


class WriteOnlySecretField(forms.MultiValueField):
    """Cleans to a SecretChange; WriteOnlySecretsForm turns it into the value."""

    widget = WriteOnlySecretWidget

    def __init__(self, **kwargs: Any) -> None:
        fields = (forms.CharField(required=False), forms.BooleanField(required=False))
        kwargs.setdefault(
            "help_text", "Write-only. Leave blank to keep the stored value."
        )
        super().__init__(fields, require_all_fields=False, required=False, **kwargs)

    def compress(self, data_list: list[Any]) -> SecretChange:
        new_value, clear = (list(data_list) + ["", False])[:2]
        if new_value and clear:
            raise ValidationError("Type a new value or tick “clear”, not both.")
        return SecretChange(new_value or "", bool(clear))


class WriteOnlySecretsForm(forms.ModelForm):
    """A model form whose WriteOnlySecretField fields keep the stored value when
    left blank, remove it when cleared, and replace it when typed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in self._secret_names():
            self.fields[name].widget.is_set = bool(getattr(self.instance, name))
            # Keep the plaintext out of the form entirely, not just out of the
            # widget, so no other rendering path can show it.
            self.initial[name] = ""

    def _secret_names(self) -> list[str]:
        return [
            name
            for name, field in self.fields.items()
            if isinstance(field, WriteOnlySecretField)
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for name in self._secret_names():
            change = cleaned.get(name)
            if not isinstance(change, SecretChange):
                continue  # the field already has an error
            if change.clear:
                cleaned[name] = ""
            elif change.new_value:
                cleaned[name] = change.new_value
            else:
                cleaned[name] = getattr(self.instance, name)
        return cleaned


class WriteOnlySecretsAdmin(admin.ModelAdmin):
    """A ModelAdmin that edits every EncryptedTextField write-only."""

    form = WriteOnlySecretsForm

    def formfield_for_dbfield(
        self, db_field: models.Field, request: HttpRequest, **kwargs: Any
    ) -> forms.Field | None:
        if isinstance(db_field, EncryptedTextField):
            return WriteOnlySecretField(label=capfirst(db_field.verbose_name))
        return super().formfield_for_dbfield(db_field, request, **kwargs)


class SystemRowAdmin(admin.ModelAdmin):
    """Rows the system creates (deliveries, activities, outbox): no "add"."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    """Browsable only, e.g. the emulators' state, which sandbox_load writes."""

    formfield_overrides = HTTPS_URL_FIELDS

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: models.Model | None = None
    ) -> bool:
        return False
