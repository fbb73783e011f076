"""TikTok: members' posts carrying a tenant's tracked hashtags, found by a
scanner over a pluggable source (see ``sources``)."""
