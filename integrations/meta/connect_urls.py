from django.urls import path

from integrations.meta import connect_views

# The fixed names come first: "callback" would otherwise read as a token.
urlpatterns = [
    path("callback/", connect_views.callback, name="connect-callback"),
    path("choose/", connect_views.choose, name="connect-choose"),
    path("<str:token>/", connect_views.landing, name="connect-landing"),
]
