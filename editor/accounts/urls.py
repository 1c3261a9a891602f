from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.contrib.auth.views import LogoutView
from django.urls import path

from editor.accounts import views

# No namespace: settings.LOGIN_URL names "login", as Django's auth views expect.
urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path("login/", views.FlintLoginView.as_view(), name="login"),
    path("logout/", LogoutView.as_view(), name="logout"),
    # Django's own password views, with Flint's templates in templates/registration/.
    # A changed password reaches open sockets through editor/accounts/signals.py.
    path(
        "password/change/",
        auth_views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "password/change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("password/reset/", auth_views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "password/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("profile/", views.profile, name="profile"),
    path("profile/tokens/", views.token_create_view, name="token-create"),
    path("profile/tokens/<int:token_id>/revoke/", views.token_revoke_view, name="token-revoke"),
]
