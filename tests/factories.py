"""factory-boy factories shared by the test suite."""

import uuid

import factory

from loyalty.models import (
    Member,
    SandboxLoyaltyTenant,
    SandboxLoyaltyUser,
    Tenant,
)


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"tenant-{n}")
    name = factory.LazyAttribute(lambda tenant: tenant.slug.title())
    api_key = factory.LazyAttribute(lambda tenant: f"k-{tenant.slug}")
    client_id = factory.LazyAttribute(lambda tenant: f"client-{tenant.slug}")
    client_secret = factory.LazyAttribute(lambda tenant: f"secret-{tenant.slug}")


class MemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Member

    tenant = factory.SubFactory(TenantFactory)
    wll_user_id = factory.LazyFunction(lambda: str(uuid.uuid4()))
    auth_identifier = factory.Sequence(lambda n: f"auth|{n}")


class SandboxLoyaltyTenantFactory(factory.django.DjangoModelFactory):
    """The emulator's side of a tenant; pair it with a ``TenantFactory`` tenant
    built from the same credentials."""

    class Meta:
        model = SandboxLoyaltyTenant
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"tenant-{n}")
    api_key = factory.LazyAttribute(lambda tenant: f"k-{tenant.slug}")
    client_id = factory.LazyAttribute(lambda tenant: f"client-{tenant.slug}")
    client_secret = factory.LazyAttribute(lambda tenant: f"secret-{tenant.slug}")


class SandboxLoyaltyUserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SandboxLoyaltyUser

    tenant = factory.SubFactory(SandboxLoyaltyTenantFactory)
    id = factory.LazyFunction(lambda: str(uuid.uuid4()))
    auth_identifier = factory.Sequence(lambda n: f"auth|{n}")
    account_number = factory.Sequence(lambda n: f"{1000000 + n}")
    profile = factory.LazyFunction(
        lambda: {
            "givenName": "Jane",
            "familyName": "Doe",
            "emailAddress": "jane@example.com",
            "attributes": {"instagramHandle": "@Jane.Doe"},
        }
    )
