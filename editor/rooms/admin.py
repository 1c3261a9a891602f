"""Teams and rooms in the admin, to look at: who is in which team and room, in what role.

Read-only on purpose: creating, changing or removing a team, room or membership goes
through editor/rooms/services.py (the team's and room's own pages), which authorizes,
closes the sockets of people who lose access and forgets a deleted room's documents;
the admin's plain row edits would skip all of that.
"""

from __future__ import annotations

from django.contrib import admin

from editor.rooms.models import Room, RoomMembership, Team, TeamMembership


class _ReadOnly:
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class TeamMembershipInline(_ReadOnly, admin.TabularInline):
    model = TeamMembership
    fields = readonly_fields = ("user", "role", "joined_at")
    extra = 0


class RoomMembershipInline(_ReadOnly, admin.TabularInline):
    model = RoomMembership
    fields = readonly_fields = ("user", "role", "added_at")
    extra = 0


@admin.register(Team)
class TeamAdmin(_ReadOnly, admin.ModelAdmin):
    list_display = ("name", "created_by", "created_at")
    search_fields = ("name",)
    inlines = [TeamMembershipInline]


@admin.register(Room)
class RoomAdmin(_ReadOnly, admin.ModelAdmin):
    list_display = ("name", "team", "created_by", "created_at")
    list_filter = ("team",)
    search_fields = ("name", "team__name")
    inlines = [RoomMembershipInline]


@admin.register(TeamMembership)
class TeamMembershipAdmin(_ReadOnly, admin.ModelAdmin):
    list_display = ("user", "team", "role", "joined_at")
    list_filter = ("role",)
    search_fields = ("user__username", "team__name")


@admin.register(RoomMembership)
class RoomMembershipAdmin(_ReadOnly, admin.ModelAdmin):
    list_display = ("user", "room", "role", "added_at")
    list_filter = ("role",)
    search_fields = ("user__username", "room__name", "room__team__name")
