"""Signals the member index sends to the integrations."""

from django.dispatch import Signal

# Sent with ``member`` after a member's normalized Instagram or TikTok handle
# changed (including from nothing), so activity waiting for that handle can be
# matched to them.
member_handles_changed = Signal()
