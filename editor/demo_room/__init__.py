"""The demo room: a first room with a small sample project and things to try."""
