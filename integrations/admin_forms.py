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
from django.forms.models import BaseInlineFormSet

from integrations.models import DmKeyword, TrackedHashtag
from integrations.tiktok.hashtags import InvalidHashtag, fold, normalize_hashtag

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
        """For a word the tenant already has saved."""
        raise NotImplementedError

    @classmethod
    def repeated_error(cls, word: str) -> str:
        """For a word typed twice in one save."""
        return f"“{word}” is entered twice here; keep one."

    def is_taken(self, tenant: Any, word: str) -> bool:
        # A tenant has a handful of words: compare their keys here rather than
        # teach the database each kind's folding.
        saved = (
            self._meta.model.objects.filter(tenant=tenant)
            .exclude(pk=self.instance.pk)
            .values_list(self.word_field, flat=True)
        )
        return self.key(word) in {self.key(other) for other in saved}

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
        if self.checks_database and word and tenant and self.is_taken(tenant, word):
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
        seen: dict[str, forms.Form] = {}
        for form in self.forms:
            if self._should_delete_form(form):  # type: ignore[attr-defined]
                continue
            word = getattr(form, "cleaned_data", {}).get(form_class.word_field)
            if not word:
                continue
            earlier = seen.setdefault(form_class.key(word), form)
            if earlier is not form:
                form.add_error(form_class.word_field, self._clash(earlier, word))

    def _clash(self, earlier: forms.Form, word: str) -> str:
        form_class: type[TenantWordForm] = self.form
        saved = earlier in self.initial_forms and not earlier.has_changed()
        if saved:
            return form_class.duplicate_error(word)
        return form_class.repeated_error(word)


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
    def key(cls, word: str) -> str:
        # Captions are matched folded ("Straße" and "strasse" are one tag).
        return fold(word)

    @classmethod
    def duplicate_error(cls, word: str) -> str:
        return f"#{word} is already tracked for this tenant."

    @classmethod
    def repeated_error(cls, word: str) -> str:
        return f"#{word} is entered twice here; keep one."


class TrackedHashtagInlineForm(TrackedHashtagForm):
    checks_database = False


class TrackedHashtagInline(admin.TabularInline):
    model = TrackedHashtag
    form = TrackedHashtagInlineForm
    formset = TenantWordFormSet
    fields = ["hashtag", "created_at"]
    readonly_fields = ["created_at"]
    extra = 1
