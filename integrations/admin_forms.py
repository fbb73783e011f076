"""Admin forms for a tenant's words: DM keywords (one word each, unique per
tenant in any case) and tracked hashtags (stored normalized, unique per tenant).

Both are edited in inlines on the tenant page and in their own lists. A form
used on its own checks uniqueness against the database; the inline formset sees
all of a tenant's words at once and checks them together instead (which also
allows swapping two in one save).
"""

import re
from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet

from integrations.models import DmKeyword, TrackedHashtag
from integrations.tiktok.hashtags import InvalidHashtag, normalize_hashtag

KEYWORD_PATTERN = re.compile(r"[\w-]{1,100}")
KEYWORD_FORMAT_ERROR = (
    "A keyword is one word of letters, digits, “_” or “-”, at most 100 characters."
)


class TenantWordForm(forms.ModelForm):
    """One word of a tenant's list: normalized, validated, unique."""

    #: The model field holding the word.
    word_field = ""
    #: False in the inline, whose formset compares the words itself.
    checks_database = True

    @classmethod
    def normalize(cls, text: str) -> str:
        """The stored form of ``text``; raises ValidationError with the reason."""
        raise NotImplementedError

    @classmethod
    def key(cls, word: str) -> str:
        """What two words must not share within one tenant."""
        return word

    @classmethod
    def duplicate_error(cls, word: str) -> str:
        raise NotImplementedError

    def same_words(self, tenant: Any, word: str) -> QuerySet[Any]:
        raise NotImplementedError

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        field = self.word_field
        if field in cleaned:
            try:
                cleaned[field] = self.normalize(cleaned[field])
            except forms.ValidationError as error:
                self.add_error(field, error)
                return cleaned
        word, tenant = cleaned.get(field), cleaned.get("tenant")
        if self.checks_database and word and tenant:
            others = self.same_words(tenant, word).exclude(pk=self.instance.pk)
            if others.exists():
                self.add_error(field, self.duplicate_error(word))
        return cleaned

    def validate_unique(self) -> None:
        # The model's constraint would compare the text before normalizing.
        if self.checks_database:
            super().validate_unique()


class TenantWordFormSet(BaseInlineFormSet):
    def validate_unique(self) -> None:
        # clean() below compares the normalized words and names the duplicate;
        # Django's own check would only say "duplicate values".
        pass

    def clean(self) -> None:
        super().clean()
        form_class: type[TenantWordForm] = self.form
        seen: set[str] = set()
        for form in self.forms:
            if self._should_delete_form(form):  # type: ignore[attr-defined]
                continue
            word = getattr(form, "cleaned_data", {}).get(form_class.word_field)
            if not word:
                continue
            if form_class.key(word) in seen:
                form.add_error(form_class.word_field, form_class.duplicate_error(word))
            seen.add(form_class.key(word))


# -- DM keywords --------------------------------------------------------------


class DmKeywordForm(TenantWordForm):
    word_field = "keyword"

    class Meta:
        model = DmKeyword
        fields = ["tenant", "keyword"]

    @classmethod
    def normalize(cls, text: str) -> str:
        keyword = text.strip()
        if not KEYWORD_PATTERN.fullmatch(keyword):
            raise forms.ValidationError(KEYWORD_FORMAT_ERROR)
        return keyword

    @classmethod
    def key(cls, word: str) -> str:
        # Stricter than the database's LOWER(): casefold also folds "ß".
        return word.casefold()

    @classmethod
    def duplicate_error(cls, word: str) -> str:
        return f"“{word}” is already a keyword of this tenant (case is ignored)."

    def same_words(self, tenant: Any, word: str) -> QuerySet[DmKeyword]:
        return DmKeyword.objects.filter(tenant=tenant, keyword__iexact=word)


class DmKeywordInlineForm(DmKeywordForm):
    checks_database = False


class DmKeywordInline(admin.TabularInline):
    model = DmKeyword
    form = DmKeywordInlineForm
    formset = TenantWordFormSet
    fields = ["keyword", "created_at"]
    readonly_fields = ["created_at"]
    extra = 1


# -- tracked hashtags ---------------------------------------------------------


class TrackedHashtagForm(TenantWordForm):
    """Stores the hashtag normalized (no “#”, casefolded) or says why not."""

    word_field = "hashtag"

    class Meta:
        model = TrackedHashtag
        fields = ["tenant", "hashtag"]
        help_texts = {"hashtag": "With or without “#”; stored in lower case."}

    @classmethod
    def normalize(cls, text: str) -> str:
        try:
            return normalize_hashtag(text)
        except InvalidHashtag as error:
            raise forms.ValidationError(str(error)) from None

    @classmethod
    def duplicate_error(cls, word: str) -> str:
        return f"#{word} is already tracked for this tenant."

    def same_words(self, tenant: Any, word: str) -> QuerySet[TrackedHashtag]:
        return TrackedHashtag.objects.filter(tenant=tenant, hashtag=word)


class TrackedHashtagInlineForm(TrackedHashtagForm):
    checks_database = False


class TrackedHashtagInline(admin.TabularInline):
    model = TrackedHashtag
    form = TrackedHashtagInlineForm
    formset = TenantWordFormSet
    fields = ["hashtag", "created_at"]
    readonly_fields = ["created_at"]
    extra = 1
