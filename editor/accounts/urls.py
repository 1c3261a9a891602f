from __future__ import annotations

from django.contrib.auth.views import LogoutView
from django.urls import path

from editor.accounts import views

# No namespace: settings.LOGIN_URL names "login", as Django's auth views expect.
urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path("login/", views.FlintLoginView.as_view(), name="login"),
    path("logout/", LogoutView.as_view(), name="logout"),
    path("profile/", views.profile, name="profile"),
    path("profile/tokens/", views.token_create_view, name="token-create"),
    path("profile/tokens/<int:token_id>/revoke/", views.token_revoke_view, name="token-revoke"),
]
