from django.apps import AppConfig


class ApiConfig(AppConfig):
    # Installed for its migrations: api/0001 created the access-token table that
    # accounts.AccessToken now owns (accounts/0002, api/0002 move it in state only).
    name = "editor.api"
    label = "api"
    verbose_name = "API (assembles the apps' endpoints)"
