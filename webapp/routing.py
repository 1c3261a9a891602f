"""WebSocket URL routes; each app owns its consumer."""

from django.urls import path

from editor.collab.consumers import DocConsumer
from editor.rooms.consumers import RoomConsumer

websocket_urlpatterns = [
    path("ws/rooms/<int:room_id>", RoomConsumer.as_asgi()),
    path("ws/docs/<uuid:doc_id>", DocConsumer.as_asgi()),
]
