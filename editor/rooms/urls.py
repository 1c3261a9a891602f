from __future__ import annotations

from django.urls import path

from editor.rooms import views

app_name = "rooms"
urlpatterns = [
    path("", views.home, name="home"),
    path("rooms/", views.room_list, name="list"),
    path("rooms/<int:room_id>/", views.room_detail, name="detail"),
    path("rooms/<int:room_id>/settings/", views.room_settings, name="settings"),
    path("rooms/<int:room_id>/delete/", views.room_delete, name="delete"),
    path("rooms/<int:room_id>/members/", views.room_member_set, name="member-set"),
    path(
        "rooms/<int:room_id>/members/<int:user_id>/remove/",
        views.room_member_remove,
        name="member-remove",
    ),
    path("teams/", views.team_list, name="teams"),
    path("teams/<int:team_id>/", views.team_detail, name="team"),
    path("teams/<int:team_id>/members/", views.team_member_add, name="team-member-add"),
    path(
        "teams/<int:team_id>/members/<int:user_id>/role/",
        views.team_member_role,
        name="team-member-role",
    ),
    path(
        "teams/<int:team_id>/members/<int:user_id>/remove/",
        views.team_member_remove,
        name="team-member-remove",
    ),
    path("teams/<int:team_id>/leave/", views.team_leave, name="team-leave"),
    path("teams/<int:team_id>/invites/", views.team_invite_create, name="team-invite-create"),
    path(
        "teams/<int:team_id>/invites/<int:invite_id>/revoke/",
        views.team_invite_revoke,
        name="team-invite-revoke",
    ),
    path("teams/<int:team_id>/rooms/", views.team_room_create, name="team-room-create"),
    path("invite/<str:token>/", views.invite, name="invite"),
]
