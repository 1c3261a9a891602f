"""Forms for team and room pages: they parse input; the services decide what is allowed."""

from __future__ import annotations

from django import forms

from editor.rooms.models import RoomRole, TeamRole
from editor.rooms.services import NAME_MAX


class TeamCreateForm(forms.Form):
    name = forms.CharField(label="Team name", max_length=NAME_MAX)


class RoomCreateForm(forms.Form):
    name = forms.CharField(label="Room name", max_length=NAME_MAX)


class RoomRenameForm(forms.Form):
    name = forms.CharField(label="Room name", max_length=NAME_MAX)


class RoomDeleteForm(forms.Form):
    """Deleting asks for the room's name, so a stray click cannot delete a room."""

    confirm_name = forms.CharField(label="Type the room's name to confirm", max_length=NAME_MAX)

    def __init__(self, *args, room_name: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.room_name = room_name

    def clean_confirm_name(self) -> str:
        typed = self.cleaned_data["confirm_name"].strip()
        if typed != self.room_name:
            raise forms.ValidationError(
                f"Type the room's name, {self.room_name}, exactly to delete it."
            )
        return typed


class MemberAddForm(forms.Form):
    username = forms.CharField(max_length=150)


class TeamRoleForm(forms.Form):
    role = forms.ChoiceField(choices=TeamRole.choices)


class InviteCreateForm(forms.Form):
    ttl_hours = forms.IntegerField(
        label="Valid for (hours)", min_value=1, max_value=24 * 30, initial=72
    )
    max_uses = forms.IntegerField(
        label="Uses", min_value=0, initial=0, help_text="0 means any number of people."
    )


class RoomMemberForm(forms.Form):
    user_id = forms.IntegerField(widget=forms.HiddenInput)
    role = forms.ChoiceField(choices=RoomRole.choices)


class RoomMemberAddForm(forms.Form):
    user_id = forms.TypedChoiceField(label="Team member", coerce=int, choices=())
    role = forms.ChoiceField(choices=RoomRole.choices, initial=RoomRole.EDITOR)

    def __init__(self, *args, candidates=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user_id"].choices = [(u.pk, u.get_username()) for u in candidates]
