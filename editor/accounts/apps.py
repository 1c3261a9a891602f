from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "editor.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from editor.accounts import signals  # noqa: F401 (connects the receivers)
