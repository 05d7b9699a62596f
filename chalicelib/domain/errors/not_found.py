"""Not-found errors: nothing of that name is visible to the caller (also for things of another workspace)."""

from __future__ import annotations

from chalicelib.domain.errors.caller import NotFoundError

__all__ = [
    "ApiKeyNotFoundError",
    "DeliveryNotFoundError",
    "InstallationNotFoundError",
    "ListenSessionNotFoundError",
    "PathParameterEmptyError",
    "PluginNotFoundError",
    "PublisherNotFoundError",
    "TaskActionNotFoundError",
    "TaskNotFoundError",
    "TriggerNotFoundError",
    "UploadNotFoundError",
    "VersionNotFoundError",
    "WebhookNotFoundError",
]


class PluginNotFoundError(NotFoundError):
    """Unknown plugin id."""

    code, title = "plugin-not-found", "Plugin not found"

    def __init__(self, plugin_id: str) -> None:
        super().__init__(f"No plugin '{plugin_id}'.", plugin_id=plugin_id)


class VersionNotFoundError(NotFoundError):
    """Unknown (or not installable) version of a known plugin."""

    code, title = "version-not-found", "Plugin version not found"

    def __init__(self, plugin_id: str, version: str) -> None:
        super().__init__(
            f"Plugin '{plugin_id}' has no installable version '{version}'.",
            plugin_id=plugin_id,
            version=version,
        )


class InstallationNotFoundError(NotFoundError):
    """Unknown installation in the caller's workspace."""

    code, title = "installation-not-found", "Installation not found"

    def __init__(self, ref: str) -> None:
        super().__init__(f"No installation '{ref}' in this workspace.", installation=ref)


class WebhookNotFoundError(NotFoundError):
    """Unknown webhook in the caller's workspace."""

    code, title = "webhook-not-found", "Webhook not found"

    def __init__(self, webhook_id: str) -> None:
        super().__init__(f"No webhook '{webhook_id}' in this workspace.", webhook_id=webhook_id)


class UploadNotFoundError(NotFoundError):
    """The upload was never requested, expired, or its file was never PUT."""

    code, title = "upload-not-found", "Upload not found"


class PathParameterEmptyError(NotFoundError):
    """A path segment that names something is empty, so it names nothing."""

    code, title = "path-parameter-empty", "A path parameter is empty"


class ApiKeyNotFoundError(NotFoundError):
    """Unknown API key id in the caller's workspace."""

    code, title = "api-key-not-found", "API key not found"


class TaskNotFoundError(NotFoundError):
    """Unknown task in the caller's workspace."""

    code, title = "task-not-found", "Task not found"

    def __init__(self, task_id: str) -> None:
        super().__init__(f"No task '{task_id}' in this workspace.", task_id=task_id)


class TaskActionNotFoundError(NotFoundError):
    """No enabled installation of the caller's workspace offers that task action."""

    code, title = "task-action-not-found", "Task action not found"

    def __init__(self, installation_id: str, action: str) -> None:
        super().__init__(
            f"No enabled installation '{installation_id}' of this workspace offers the task action '{action}'.",
            installation_id=installation_id,
            action=action,
        )


class TriggerNotFoundError(NotFoundError):
    """Unknown trigger of an installation in the caller's workspace."""

    code, title = "trigger-not-found", "Trigger not found"

    def __init__(self, installation_id: str, name: str) -> None:
        super().__init__(
            f"Installation '{installation_id}' has no trigger '{name}'.", installation_id=installation_id, trigger=name
        )


class PublisherNotFoundError(NotFoundError):
    """No such publisher."""

    code, title = "publisher-not-found", "Publisher not found"


class DeliveryNotFoundError(NotFoundError):
    """Unknown delivery of a webhook in the caller's workspace."""

    code, title = "delivery-not-found", "Delivery not found"

    def __init__(self, webhook_id: str, delivery_id: str) -> None:
        super().__init__(
            f"Webhook '{webhook_id}' has no delivery '{delivery_id}'.", webhook_id=webhook_id, delivery_id=delivery_id
        )


class ListenSessionNotFoundError(NotFoundError):
    """No such listen session in the caller's workspace (or it expired)."""

    code, title = "listen-session-not-found", "Listen session not found"
