"""Business Discovery answers kept for an hour.

Business Discovery spends the app's platform quota (shared by every brand), so
one answer per username serves every brand and every worker process for an
hour. A table rather than Django's cache: the default cache lives in one
process and the cluster runs several.
"""

from django.db import models


class DiscoveryCacheEntry(models.Model):
    username = models.CharField(max_length=30, unique=True)
    # False: Meta knows no business or creator account by that name (personal,
    # private or missing accounts answer alike), which is worth caching too.
    is_found = models.BooleanField(default=False)
    answer = models.JSONField(default=dict, blank=True)
    fetched_at = models.DateTimeField()

    class Meta:
        ordering = ["username"]
        verbose_name_plural = "discovery cache entries"

    def __str__(self) -> str:
        return self.username
