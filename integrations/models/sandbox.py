"""State of the Graph API emulator (sandbox only).

Written by ``sandbox_load`` and read by the emulator views; the portal's own code
never touches these tables.
"""

from django.db import models


class SandboxBrand(models.Model):
    """A brand's Instagram professional account as Meta knows it."""

    slug = models.SlugField(unique=True)
    ig_user_id = models.CharField(max_length=64, unique=True)
    username = models.CharField(max_length=30)
    page_id = models.CharField(max_length=64)
    page_token = models.CharField(max_length=200, unique=True)
    page_name = models.CharField(max_length=200, blank=True)
    # The app installed on the Page (``subscribed_apps``) and with which fields.
    subscribed_fields = models.JSONField(default=list, blank=True)
    # Scripted answers for tests and demos, one consumed per Graph request made
    # with this brand's token: {"code": 80002, "minutes": 2} answers a throttling
    # error, {"usage": 85} reports that usage percent and serves normally.
    faults = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.username


class SandboxInstagramUser(models.Model):
    igsid = models.CharField(max_length=64, unique=True)
    username = models.CharField(max_length=30, unique=True)
    name = models.CharField(max_length=200, blank=True)
    account_type = models.CharField(max_length=10, default="personal")
    is_private = models.BooleanField(default=False)
    follower_count = models.PositiveIntegerField(default=0)
    follows_count = models.PositiveIntegerField(default=0)
    media_count = models.PositiveIntegerField(default=0)
    biography = models.TextField(blank=True)
    profile_pic = models.URLField(max_length=500, blank=True)
    # Brand slugs this user follows, and brands they have messaged (which is
    # what lets a brand read their profile: without it the API answers 230).
    follows = models.JSONField(default=list, blank=True)
    messaged = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["username"]

    def __str__(self) -> str:
        return self.username


class SandboxMedia(models.Model):
    media_id = models.CharField(max_length=64, unique=True)
    username = models.CharField(max_length=30)
    caption = models.TextField(blank=True)
    media_type = models.CharField(max_length=20, default="IMAGE")
    media_product_type = models.CharField(max_length=10, default="FEED")
    media_url = models.URLField(max_length=500, blank=True)
    thumbnail_url = models.URLField(max_length=500, blank=True)
    permalink = models.URLField(max_length=500, blank=True)
    timestamp = models.CharField(max_length=40)
    like_count = models.PositiveIntegerField(default=0)
    comments_count = models.PositiveIntegerField(default=0)
    mentions = models.JSONField(default=list, blank=True)
    tags = models.JSONField(default=list, blank=True)
    # Comments mentioning brands: [{"id", "text", "timestamp", "mentions"}].
    comments = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-timestamp"]
        verbose_name_plural = "sandbox media"

    def __str__(self) -> str:
        return self.media_id


class SandboxGrant(models.Model):
    """What a tester granted in the emulated login dialog: a code, then tokens."""

    code = models.CharField(max_length=100, unique=True)
    redirect_uri = models.CharField(max_length=500)
    fb_user_id = models.CharField(max_length=64)
    scopes = models.JSONField(default=list)
    page_ids = models.JSONField(default=list)
    code_used = models.BooleanField(default=False)
    short_token = models.CharField(max_length=200, blank=True)
    long_token = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"sandbox grant {self.pk}"
