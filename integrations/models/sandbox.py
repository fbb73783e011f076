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


class SandboxTikTokUser(models.Model):
    username = models.CharField(max_length=24, unique=True)
    display_name = models.CharField(max_length=200, blank=True)
    follower_count = models.PositiveIntegerField(default=0)
    following_count = models.PositiveIntegerField(default=0)
    bio_description = models.TextField(blank=True)
    avatar_url = models.URLField(max_length=500, blank=True)
    is_private = models.BooleanField(default=False)

    class Meta:
        ordering = ["username"]

    def __str__(self) -> str:
        return self.username


class SandboxTikTokVideo(models.Model):
    # Text: TikTok ids exceed 2^53. Ordered by (length, text) they sort as numbers.
    video_id = models.CharField(max_length=20, unique=True)
    username = models.CharField(max_length=64, db_index=True)
    video_description = models.TextField(blank=True)
    # "|tag|tag|": what TikTok's own index holds, so the emulator can filter by
    # hashtag in SQL. Derived from the description when loaded.
    hashtag_index = models.TextField(blank=True)
    create_time = models.BigIntegerField(db_index=True)
    like_count = models.PositiveIntegerField(default=0)
    comment_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-create_time"]

    def __str__(self) -> str:
        return self.video_id


class SandboxTikTokState(models.Model):
    """The emulator's one app: its credentials' check, quota and scripted faults."""

    day = models.DateField(null=True, blank=True)
    requests = models.PositiveIntegerField(default=0)
    records = models.PositiveIntegerField(default=0)
    # Answered one per video query before normal service: {"status": 500},
    # {"status": 429}, {"expire_search": true}, {"empty_page": true}.
    faults = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name = "sandbox TikTok state"

    def __str__(self) -> str:
        return f"TikTok emulator {self.day}: {self.requests} requests"
