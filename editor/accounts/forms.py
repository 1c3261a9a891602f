"""Forms for the account pages: they parse input; the services decide what is allowed."""

from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm


class LoginForm(AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "That username and password do not match. Check both and try again.",
    }


class SignupForm(forms.Form):
    username = forms.CharField(
        max_length=150,
        help_text="Letters, digits and @ . + - _ only. Others see it in rooms.",
        widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    display_name = forms.CharField(
        max_length=80,
        required=False,
        help_text="Optional: the name shown beside your cursor.",
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    password1 = forms.CharField(
        label="Password",
        strip=False,
        help_text="At least 8 characters; not only digits, not a common password.",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label="Password again",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self):
        data = super().clean()
        if data.get("password1") and data.get("password2") != data.get("password1"):
            self.add_error("password2", "The two passwords differ. Type the same one twice.")
        return data


class ProfileForm(forms.Form):
    display_name = forms.CharField(max_length=80, required=False)
    email = forms.EmailField(
        required=False,
        help_text="Optional: where a password reset link is sent. Nobody else sees it.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    cursor_color = forms.CharField(
        label="Cursor colour", max_length=7, widget=forms.TextInput(attrs={"type": "color"})
    )


class TokenCreateForm(forms.Form):
    name = forms.CharField(
        max_length=80,
        help_text="What will use it, e.g. “laptop CLI”.",
        widget=forms.TextInput(attrs={"placeholder": "laptop CLI"}),
    )
    expires_in_days = forms.IntegerField(
        label="Expires in (days)",
        required=False,
        min_value=1,
        max_value=3650,
        help_text="Leave empty for a token that does not expire.",
    )
