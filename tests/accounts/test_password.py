"""Changing and resetting a password with Django's own views and Flint's pages.

Mail goes to Django's test outbox here; `make run` prints it in the terminal (the
console backend) unless EMAIL_HOST names an SMTP server.
"""

from __future__ import annotations

import re

from django.core import mail
from django.test import Client
from django.urls import reverse

NEW = "a-Brand-new-passphrase"


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def can_log_in(username: str, password: str) -> bool:
    response = Client().post(reverse("login"), {"username": username, "password": password})
    return response.status_code == 302


def test_the_profile_and_the_login_page_lead_to_the_password_pages(cast, client):
    assert (
        reverse("password_change") in logged_in(cast.bob).get(reverse("profile")).content.decode()
    )
    assert reverse("password_reset") in client.get(reverse("login")).content.decode()


def test_a_wrong_current_password_changes_nothing_and_says_so(cast):
    bob = logged_in(cast.bob)
    response = bob.post(
        reverse("password_change"),
        {"old_password": "not-it", "new_password1": NEW, "new_password2": NEW},
    )
    assert response.status_code == 200
    assert "old password was entered incorrectly" in response.content.decode()
    assert can_log_in("bob", cast.password)


def test_changing_the_password_keeps_this_session_and_ends_the_others(cast):
    bob, bob_elsewhere = logged_in(cast.bob), logged_in(cast.bob)

    response = bob.post(
        reverse("password_change"),
        {"old_password": cast.password, "new_password1": NEW, "new_password2": NEW},
    )

    assert response.status_code == 302
    assert bob.get(response["Location"]).status_code == 200
    assert "Password changed" in bob.get(reverse("password_change_done")).content.decode()
    assert bob.get(reverse("profile")).status_code == 200
    assert bob_elsewhere.get(reverse("profile")).status_code == 302  # to the login page
    assert can_log_in("bob", NEW) and not can_log_in("bob", cast.password)


def test_a_reset_link_mailed_to_the_profile_address_sets_a_new_password(cast, client, settings):
    bob = logged_in(cast.bob)
    profile = {"display_name": "Bob", "cursor_color": "#336699", "email": "bob@example.org"}
    assert bob.post(reverse("profile"), profile).status_code == 302

    response = client.post(reverse("password_reset"), {"email": "bob@example.org"})
    assert response.status_code == 302
    assert "Check your mail" in client.get(response["Location"]).content.decode()
    (message,) = mail.outbox
    assert message.to == ["bob@example.org"] and "bob" in message.body
    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/\S+/)", message.body).group(1)

    form = client.get(link, follow=True)
    assert "Set a new password" in form.content.decode()
    done = client.post(
        form.redirect_chain[-1][0], {"new_password1": NEW, "new_password2": NEW}, follow=True
    )
    assert "Password set" in done.content.decode()
    assert can_log_in("bob", NEW) and not can_log_in("bob", cast.password)
    assert bob.get(reverse("profile")).status_code == 302  # his old session ended
    # The link works once.
    assert "no longer works" in client.get(link, follow=True).content.decode()


def test_an_unknown_address_gets_the_same_answer_and_no_mail(cast, client):
    response = client.post(reverse("password_reset"), {"email": "nobody@example.org"})
    assert response.status_code == 302
    assert mail.outbox == []
