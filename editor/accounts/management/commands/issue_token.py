"""`manage.py issue_token <username>`: print a new personal access token for scripts.

Only the token goes to stdout, so `TOKEN=$(python manage.py issue_token alice)` works;
what it is and when it expires goes to stderr.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from editor.accounts.tokens import token_create
from editor.core.errors import FlintError


class Command(BaseCommand):
    help = "Create a personal access token for a user and print it (only it) on stdout."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="issued by manage.py", help="What it is for")
        parser.add_argument(
            "--days",
            type=int,
            default=settings.FLINT_TOKEN_TTL_DAYS,
            help="Lifetime in days (default %(default)s)",
        )

    def handle(self, *args, username: str, name: str, days: int, **options) -> None:
        User = get_user_model()
        user = User._default_manager.filter(
            **{f"{User.USERNAME_FIELD}__iexact": username.strip()}
        ).first()
        if user is None:
            raise CommandError(f"There is no user called {username!r}.")
        if not user.is_active:
            raise CommandError(f"The account {username!r} is disabled.")
        try:
            token, secret = token_create(user=user, name=name, ttl_days=days)
        except FlintError as exc:
            raise CommandError(exc.message) from None
        self.stderr.write(
            f"Token {token.name!r} ({token.prefix}…) for {user.get_username()}, "
            f"expires {token.expires_at:%Y-%m-%d %H:%M} UTC."
        )
        self.stdout.write(secret)
