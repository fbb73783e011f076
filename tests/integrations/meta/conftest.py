from tests.integrations.meta.onboarding_helpers import cedar, flow  # noqa: F401
