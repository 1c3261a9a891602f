"""Credential changes reach open sockets: logout, deactivation, password change, deletion.

Each of these calls `sockets.access_changed([user_id])`; every room and document socket
of that user re-checks the credential it was opened with (editor/accounts/ws_auth.py,
`credential_problem`) and closes with 4001 if it no longer holds. Signals, because these
changes happen in Django's own code (logout, the admin's user and password forms,
`manage.py changepassword`), not in a Flint service.
"""

from __future__ import annotations

from importlib import import_module

from django.conf import settings
from django.contrib.auth import get_user_model, user_logged_out
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from editor.accounts import sockets

User = get_user_model()
_WATCHED = ("password", "is_active")


@receiver(user_logged_out)
def _logged_out(sender, request, user, **kwargs) -> None:
    if user is None:
        return
    session = getattr(request, "session", None)
    key = getattr(session, "session_key", None)
    if key:
        # logout() flushes the session only after this signal; end it first, so that the
        # sockets' re-check (which may run at once) already finds it gone.
        import_module(settings.SESSION_ENGINE).SessionStore().delete(key)
    sockets.access_changed([user.pk])


@receiver(pre_save, sender=User)
def _remember_credentials(sender, instance, raw=False, update_fields=None, **kwargs) -> None:
    if raw or instance.pk is None:
        return
    if update_fields is not None and not set(update_fields) & set(_WATCHED):
        return  # e.g. last_login on every login: nothing to compare
    instance._flint_credentials_before = (
        User.objects.filter(pk=instance.pk).values_list(*_WATCHED).first()
    )


@receiver(post_save, sender=User)
def _credentials_changed(sender, instance, created=False, raw=False, **kwargs) -> None:
    before = instance.__dict__.pop("_flint_credentials_before", None)
    if created or raw or before is None:
        return
    if before != (instance.password, instance.is_active):
        sockets.access_changed([instance.pk])


@receiver(post_delete, sender=User)
def _deleted(sender, instance, **kwargs) -> None:
    sockets.access_changed([instance.pk])
