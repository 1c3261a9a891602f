from django.apps import AppConfig


class AssistConfig(AppConfig):
    name = "editor.assist"
    label = "assist"
    verbose_name = "Fast model in the room"

    def ready(self) -> None:
        import logging

        # The SDK's HTTP client logs every request at INFO: one line per keystroke of
        # inline completion would drown the server log.
        logging.getLogger("httpx2").setLevel(logging.WARNING)

        from editor.assist.selectors import completion_acceptance
        from editor.usage.selectors import dashboard_figure_add

        dashboard_figure_add("acceptance", completion_acceptance)

        from editor.assist.dispatch import AssistSession
        from editor.rooms.extensions import room_socket_extension_register

        # The room socket hands its assist.* messages to one AssistSession per socket.
        room_socket_extension_register("assist", AssistSession)
