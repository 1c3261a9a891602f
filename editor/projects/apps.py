from django.apps import AppConfig


class ProjectsConfig(AppConfig):
    name = "editor.projects"
    label = "projects"
    verbose_name = "Projects and files"
