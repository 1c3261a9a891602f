from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "editor.accounts"
    label = "accounts"
    verbose_name = "Accounts"
