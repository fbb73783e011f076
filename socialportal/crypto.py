"""Encryption at rest for tokens and secrets, with MultiFernet.

``ENCRYPTION_KEYS`` lists Fernet keys newest first: values are encrypted with the
first and can be decrypted with any, so keys rotate without a migration.
"""

from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


@cache
def _fernet() -> MultiFernet:
    try:
        return MultiFernet([Fernet(key.encode()) for key in settings.ENCRYPTION_KEYS])
    except ValueError:
        raise ImproperlyConfigured(
            "ENCRYPTION_KEYS must be comma-separated Fernet keys "
            "(32 url-safe base64-encoded bytes each)."
        ) from None


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    try:
        return _fernet().decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        raise ImproperlyConfigured(
            "A stored secret cannot be decrypted with ENCRYPTION_KEYS; "
            "was a key removed before its values were re-encrypted?"
        ) from None


class EncryptedTextField(models.TextField):
    """A text field stored encrypted; Python code only ever sees the plaintext.

    An empty string stays empty so "not set" is visible without decrypting.
    """

    def from_db_value(self, value, expression, connection):  # type: ignore[no-untyped-def]
        if not value:
            return value
        return decrypt(value)

    def get_prep_value(self, value):  # type: ignore[no-untyped-def]
        value = super().get_prep_value(value)
        if not value:
            return value
        return encrypt(value)
