"""Admin forms for DM keywords (one word each, unique per tenant in any case)
and tracked hashtags (stored normalized, unique per tenant).

Used by the inlines on the tenant page and by the lists themselves.
"""

import re
from typing import Any

from django import forms
from django.contrib import admin
from django.forms.models import BaseInlineFormSet

from integrations.models import DmKeyword, TrackedHashtag
from integrations.tiktok.hashtags import InvalidHashtag, normalize_hashtag

KEYWORD_PATTERN = re.compile(r"[\w-]{1,100}")
KEYWORD_FORMAT_ERROR = (
    "A keyword is one word of letters, digits, “_” or “-”, at most 100 characters."
)


def _duplicate_keyword_error(keyword: str) -> str:
    return f"“{keyword}” is already a keyword of this tenant (case is ignored)."


class DmKeywordForm(forms.ModelForm):
    """Checks the keyword's shape and, when used on its own, its uniqueness."""

    # The inline formset sees all of a tenant's keywords and checks them together
    # (which also allows swapping two in one save); a lone form asks the database.
    checks_database = True

    class Meta:
        model = DmKeyword
        fields = ["tenant", "keyword"]

    def clean_keyword(self) -> str:
        keyword = self.cleaned_data["keyword"].strip()
        if not KEYWORD_PATTERN.fullmatch(keyword):
            raise forms.ValidationError(KEYWORD_FORMAT_ERROR)
        return keyword

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        keyword = cleaned.get("keyword")
        tenant = cleaned.get("tenant")
        if not (self.checks_database and keyword and tenant):
            return cleaned
        others = DmKeyword.objects.filter(tenant=tenant, keyword__iexact=keyword)
        if others.exclude(pk=self.instance.pk).exists():
            self.add_error("keyword", _duplicate_keyword_error(keyword))
        return cleaned


class DmKeywordInlineForm(DmKeywordForm):
    checks_database = False


class DmKeywordFormSet(BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        seen: set[str] = set()
        for form in self.forms:
            if self._should_delete_form(form):
                continue
            keyword = getattr(form, "cleaned_data", {}).get("keyword")
            if not keyword:
                continue
            # Stricter than the database's LOWER(): casefold also folds "ß".
            if keyword.casefold() in seen:
                form.add_error("keyword", _duplicate_keyword_error(keyword))
            seen.add(keyword.casefold())


class DmKeywordInline(admin.TabularInline):
    model = DmKeyword
    form = DmKeywordInlineForm
    formset = DmKeywordFormSet
    fields = ["keyword", "created_at"]
    readonly_fields = ["created_at"]
    extra = 1


# -- tracked hashtags ---------------------------------------------------------


def _duplicate_hashtag_error(hashtag: str) -> str:
    return f"#{hashtag} is already tracked for this tenant."


class TrackedHashtagForm(forms.ModelForm):
    """Stores the hashtag normalized (no “#”, casefolded) or says why not."""

    checks_database = True

    class Meta:
        model = TrackedHashtag
        fields = ["tenant", "hashtag"]
        help_texts = {"hashtag": "With or without “#”; stored in lower case."}

    def clean_hashtag(self) -> str:
        try:
            return normalize_hashtag(self.cleaned_data["hashtag"])
        except InvalidHashtag as error:
            raise forms.ValidationError(str(error)) from None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        hashtag, tenant = cleaned.get("hashtag"), cleaned.get("tenant")
        if not (self.checks_database and hashtag and tenant):
            return cleaned
        others = TrackedHashtag.objects.filter(tenant=tenant, hashtag=hashtag)
        if others.exclude(pk=self.instance.pk).exists():
            self.add_error("hashtag", _duplicate_hashtag_error(hashtag))
        return cleaned

    def validate_unique(self) -> None:
        # The inline formset compares normalized values itself; the model's
        # check would run on the raw text and miss "#Acme" versus "acme".
        if self.checks_database:
            super().validate_unique()


class TrackedHashtagInlineForm(TrackedHashtagForm):
    checks_database = False


class TrackedHashtagFormSet(BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        seen: set[str] = set()
        for form in self.forms:
            if self._should_delete_form(form):
                continue
            hashtag = getattr(form, "cleaned_data", {}).get("hashtag")
            if not hashtag:
                continue
            if hashtag in seen:
                form.add_error("hashtag", _duplicate_hashtag_error(hashtag))
            seen.add(hashtag)


class TrackedHashtagInline(admin.TabularInline):
    model = TrackedHashtag
    form = TrackedHashtagInlineForm
    formset = TrackedHashtagFormSet
    fields = ["hashtag", "created_at"]
    readonly_fields = ["created_at"]
    extra = 1
