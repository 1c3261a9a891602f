from django.apps import AppConfig


class ProjectsConfig(AppConfig):
    name = "editor.projects"
    label = "projects"
    verbose_name = "Projects and files"

    def ready(self) -> None:
        from editor.collab.documents import document_source_register
        from editor.projects import signals  # noqa: F401 (connects the room-delete receiver)
        from editor.projects.documents import ProjectFileSource

        # Collab's documents are these files (editor/collab/documents.py:DocumentSource).
        document_source_register(ProjectFileSource())
