"""The security tests every provider webhook view must pass.

A provider's test module subclasses ``WebhookSecurityTests`` and says how its
requests are authenticated; the cases themselves are written once, here.
"""

from typing import Any

import pytest
from django.test import Client


class WebhookSecurityTests:
    #: Path of the view under test.
    url: str = ""
    #: A body the provider could really send.
    good_body: bytes = b"{}"
    #: Status of an accepted delivery.
    accepted_status: int = 200
    #: Status when authentication fails.
    refused_status: int = 403

    def auth_headers(self, body: bytes) -> dict[str, str]:
        raise NotImplementedError

    def forged_headers(self) -> list[dict[str, str]]:
        """Header sets that must be refused: wrong, malformed, non-ASCII."""
        raise NotImplementedError

    def accepted_count(self) -> int:
        """How many deliveries the view has accepted so far."""
        raise NotImplementedError

    def post(self, client: Client, body: bytes, headers: dict[str, str]) -> Any:
        return client.post(
            self.url, data=body, content_type="application/json", headers=headers
        )

    @pytest.mark.django_db
    def test_it_accepts_a_correctly_authenticated_delivery(
        self, client: Client
    ) -> None:
        response = self.post(client, self.good_body, self.auth_headers(self.good_body))

        assert response.status_code == self.accepted_status
        assert self.accepted_count() == 1

    @pytest.mark.django_db
    def test_it_refuses_a_delivery_without_credentials(self, client: Client) -> None:
        response = self.post(client, self.good_body, {})

        assert response.status_code == self.refused_status
        assert self.accepted_count() == 0

    @pytest.mark.django_db
    def test_it_refuses_forged_or_malformed_credentials(self, client: Client) -> None:
        for headers in self.forged_headers():
            response = self.post(client, self.good_body, headers)
            assert response.status_code == self.refused_status, headers
        assert self.accepted_count() == 0

    @pytest.mark.django_db
    def test_it_refuses_credentials_made_for_another_body(self, client: Client) -> None:
        if not self.signs_body:
            pytest.skip(
                "this provider authenticates with a shared secret, not a signature"
            )
        headers = self.auth_headers(self.good_body + b" ")

        response = self.post(client, self.good_body, headers)

        assert response.status_code == self.refused_status
        assert self.accepted_count() == 0

    #: Whether the credentials cover the body (a signature) or not (a shared secret).
    signs_body: bool = True
