"""TikTok API emulator routes, mounted at ``/sandbox/tiktok/`` when SANDBOX is on."""

from django.urls import path

from integrations.tiktok.emulator import views

urlpatterns = [
    path("v2/oauth/token/", views.token, name="sandbox-tiktok-token"),
    path("v2/research/video/query/", views.video_query, name="sandbox-tiktok-videos"),
    path("v2/research/user/info/", views.user_info, name="sandbox-tiktok-user"),
]
