from __future__ import annotations

from django.urls import path

from editor.demo_room import views

app_name = "demo_room"
urlpatterns = [path("rooms/demo/", views.demo_room_new, name="new")]
