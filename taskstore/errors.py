"""Public error type and the catalogue of the reference server's result codes.

Every failure a caller sees is an :class:`APIError` carrying the ClearML ``(code, subcode)`` pair.
The catalogue below records facts (code, subcode, name, default message) of the reference server's
``errors.conf``; messages are rendered the way the reference renders them so that clients matching
on text keep working: ``<default>[ (<extra>)][: k1=v1, k2=v2]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["CATALOGUE", "APIError", "error", "format_message"]

# (code, subcode) -> (name, default message).  Facts from the reference's errors.conf.
CATALOGUE: dict[tuple[int, int], tuple[str, str]] = {
    # 400: bad request
    (400, 0): ("bad_request", "bad request"),
    (400, 1): ("not_supported", "endpoint is not supported"),
    (400, 2): ("request_path_has_invalid_version", "request path has invalid version"),
    (400, 5): ("invalid_headers", "invalid headers"),
    (400, 6): ("impersonation_error", "impersonation error"),
    (400, 10): ("invalid_id", "invalid object id"),
    (400, 11): ("missing_required_fields", "missing required fields"),
    (400, 12): ("validation_error", "validation error"),
    (400, 13): ("fields_not_allowed_for_role", "fields not allowed for role"),
    # errors.conf spells this name "invalid fields"; the reference's class is InvalidFields.
    (400, 14): ("invalid_fields", "fields not defined for object"),
    (400, 15): ("fields_conflict", "conflicting fields"),
    (400, 16): ("fields_value_error", "invalid value for fields"),
    (400, 17): ("batch_contains_no_items", "batch request contains no items"),
    (400, 18): ("batch_validation_error", "batch request validation error"),
    (400, 19): ("invalid_lucene_syntax", "malformed lucene query"),
    (400, 20): ("fields_type_error", "invalid type for fields"),
    (400, 21): ("invalid_regex_error", "malformed regular expression"),
    (400, 22): ("invalid_email_address", "malformed email address"),
    (400, 23): ("invalid_domain_name", "malformed domain name"),
    (400, 24): ("not_public_object", "object is not public"),
    (400, 75): ("invalid_access_key", "access key not found for user"),
    (400, 100): ("task_error", "general task error"),
    (400, 101): ("invalid_task_id", "invalid task id"),
    (400, 102): ("task_validation_error", "task validation error"),
    (400, 110): ("invalid_task_status", "invalid task status"),
    (400, 111): ("task_not_started", "task not started (invalid task status)"),
    (400, 112): ("task_in_progress", "task in progress (invalid task status)"),
    (400, 113): ("task_published", "task published (invalid task status)"),
    (400, 114): ("task_status_unknown", "task unknown (invalid task status)"),
    (400, 120): ("invalid_task_execution_progress", "invalid task execution progress"),
    (400, 121): ("failed_changing_task_status", "failed changing task status. probably someone changed it before you"),
    (400, 122): ("missing_task_fields", "task is missing expected fields"),
    (400, 123): ("task_cannot_be_deleted", "task cannot be deleted"),
    (400, 125): ("task_has_jobs_running", "task has jobs that haven't completed yet"),
    (400, 126): ("invalid_task_type", "invalid task type for this operations"),
    (400, 127): ("invalid_task_input", "invalid task output"),
    (400, 128): ("invalid_task_output", "invalid task output"),
    (400, 129): ("task_publish_in_progress", "Task publish in progress"),
    (400, 130): ("task_not_found", "task not found"),
    (400, 131): ("events_not_added", "events not added"),
    (400, 200): ("model_error", "general task error"),
    (400, 201): ("invalid_model_id", "invalid model id"),
    (400, 202): ("model_not_ready", "model is not ready"),
    (400, 203): ("model_is_ready", "model is ready"),
    (400, 204): ("invalid_model_uri", "invalid model URI"),
    (400, 205): ("model_in_use", "model is used by tasks"),
    (400, 206): ("model_creating_task_exists", "task that created this model exists"),
    (400, 300): ("invalid_user", "invalid user"),
    (400, 301): ("invalid_user_id", "invalid user id"),
    (400, 302): ("user_id_exists", "user id already exists"),
    (400, 305): ("invalid_preferences_update", "Malformed key and/or value"),
    (400, 401): ("invalid_project_id", "invalid project id"),
    (400, 402): ("project_has_tasks", "project has associated tasks"),
    (400, 403): ("project_not_found", "project not found"),
    (400, 405): ("project_has_models", "project has associated models"),
    (400, 407): ("invalid_project_name", "invalid project name"),
    (400, 408): ("cannot_update_project_location", "Cannot update project location. Use projects.move instead"),
    (400, 409): ("project_path_exceeds_max", "Project path exceed the maximum allowed depth"),
    (400, 410): ("project_source_and_destination_are_the_same", "Project has the same source and destination paths"),
    (400, 411): (
        "project_cannot_be_moved_under_itself",
        "Project can not be moved under itself in the projects hierarchy",
    ),
    (400, 412): ("project_cannot_be_merged_into_its_child", "Project can not be merged into its own child"),
    (400, 701): ("invalid_queue_id", "invalid queue id"),
    (400, 702): ("queue_not_empty", "queue is not empty"),
    (400, 703): ("invalid_queue_or_task_not_queued", "invalid queue id or task not in queue"),
    (400, 704): ("removed_during_reposition", "task was removed by another party during reposition"),
    (400, 705): ("failed_adding_during_reposition", "failed adding task back to queue during reposition"),
    (400, 706): ("task_already_queued", "failed adding task to queue since task is already queued"),
    (400, 707): ("no_default_queue", "no queue is tagged as the default queue for this company"),
    (400, 708): ("multiple_default_queues", "more than one queue is tagged as the default queue for this company"),
    (400, 800): ("data_validation_error", "data validation error"),
    (400, 801): ("expected_unique_data", "value combination already exists (unique field already contains this value)"),
    (400, 1001): ("invalid_worker_id", "invalid worker id"),
    (400, 1002): ("worker_registration_failed", "worker registration failed"),
    (400, 1003): ("worker_registered", "worker is already registered"),
    (400, 1004): ("worker_not_registered", "worker is not registered"),
    (400, 1005): ("worker_stats_not_found", "worker stats not found"),
    (400, 1104): ("invalid_scroll_id", "Invalid scroll id"),
    # 401: unauthorized
    (401, 0): ("unauthorized", "unauthorized"),
    (401, 1): ("not_authorized", "unauthorized (not authorized for endpoint)"),
    (401, 2): ("entity_not_allowed", "unauthorized (entity not allowed)"),
    (401, 10): ("bad_auth_type", "unauthorized (bad authentication header type)"),
    (401, 20): ("no_credentials", "unauthorized (missing credentials)"),
    (401, 21): ("bad_credentials", "unauthorized (malformed credentials)"),
    (401, 22): ("invalid_credentials", "unauthorized (invalid credentials)"),
    (401, 30): ("invalid_token", "invalid token"),
    (401, 31): ("blocked_token", "token is blocked"),
    (401, 40): ("invalid_fixed_user", "fixed user ID was not found"),
    # 403: forbidden
    (403, 0): ("forbidden", "forbidden"),
    (403, 10): ("routing_error", "forbidden (routing error)"),
    (403, 12): ("blocked_internal_endpoint", "forbidden (blocked internal endpoint)"),
    (403, 20): ("role_not_allowed", "forbidden (not allowed for role)"),
    (403, 21): ("no_write_permission", "forbidden (modification not allowed)"),
    # 404: not in errors.conf; the reference answers unknown endpoints/versions with a bare 404/0.
    (404, 0): ("not_found", "endpoint not found"),
    # 500: server error
    (500, 0): ("general_error", "general server error"),
    (500, 1): ("internal_error", "internal server error"),
    (500, 2): ("config_error", "configuration error"),
    (500, 3): ("build_info_error", "build info unavailable or corrupted"),
    (500, 4): (
        "low_disk_space",
        "Critical server error! Server reports low or insufficient disk space. Please resolve immediately by "
        "allocating additional disk space or freeing up storage space.",
    ),
    (500, 10): ("transaction_error", "a transaction call has returned with an error"),
    (500, 100): ("data_error", "general data error"),
    (500, 101): ("inconsistent_data", "inconsistent data encountered in document"),
    (500, 102): ("database_unavailable", "database is temporarily unavailable"),
    (500, 110): ("update_failed", "update failed"),
    (500, 201): ("missing_index", "missing internal index"),
    (500, 9999): ("not_implemented", "action is not yet implemented"),
}


def _render(value: Any) -> str:
    if isinstance(value, (list, tuple, set)):
        return "(" + ", ".join(str(v) for v in value) + ")"
    return str(value)


def format_message(default: str, extra: str | None, data: Mapping[str, Any] | None) -> str:
    """Render a message the way the reference does: default, extra in parentheses, then data."""
    msg = default
    if extra:
        msg += f" ({extra})"
    if data:
        msg += ": " + ", ".join(f"{k}={_render(v)}" for k, v in data.items())
    return msg


class APIError(Exception):
    """A ClearML API error: HTTP-like ``code``, ClearML result ``subcode``, ``message`` and ``data``."""

    def __init__(
        self, code: int, subcode: int = 0, message: str | None = None, data: Mapping[str, Any] | None = None
    ) -> None:
        self.code = code
        self.subcode = subcode
        self.data: dict[str, Any] = dict(data or {})
        if message is None:
            message = format_message(CATALOGUE.get((code, subcode), ("", "error"))[1], None, self.data)
        self.message = message
        super().__init__(message)

    @property
    def name(self) -> str:
        """The reference's name for this (code, subcode), e.g. ``invalid_task_id``."""
        return CATALOGUE.get((self.code, self.subcode), ("unknown_error", ""))[0]

    @property
    def codes(self) -> list[int]:
        return [self.code, self.subcode]

    def __repr__(self) -> str:
        return f"APIError({self.code}, {self.subcode}, {self.message!r})"


_BY_NAME: dict[str, tuple[int, int]] = {name: key for key, (name, _) in CATALOGUE.items()}


def error(name: str, extra: str | None = None, /, **data: Any) -> APIError:
    """Build the catalogued error ``name`` with an optional extra message and data items.

    ``error("invalid_task_id", id=tid, company=cid)`` renders
    ``"invalid task id: id=..., company=..."`` exactly as the reference does.
    """
    code, subcode = _BY_NAME[name]
    default = CATALOGUE[(code, subcode)][1]
    return APIError(code, subcode, format_message(default, extra, data), data)


