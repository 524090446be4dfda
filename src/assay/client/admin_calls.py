"""The administration calls of the client: schedules, namespaces, queues, health."""

from __future__ import annotations

from assay.client.transport import JSONObject, Transport, seg


class AdminCalls(Transport):
    """Schedules, namespaces, queue statistics, health and version."""

    def create_schedule(self, schedule: JSONObject) -> JSONObject:
        """POST /schedules with ``{name, workflow_type, cron_expr, namespace?, timezone?,
        input?, task_queue?, overlap_policy?}``."""
        return self._object("POST", "/schedules", body=schedule, send_body=True)

    def list_schedules(self, *, namespace: str | None = None) -> list[JSONObject]:
        return self._array("GET", "/schedules", params={"namespace": namespace})

    def get_schedule(self, name: str, *, namespace: str | None = None) -> JSONObject:
        return self._object("GET", f"/schedules/{seg(name)}", params={"namespace": namespace})

    def patch_schedule(
        self, name: str, patch: JSONObject, *, namespace: str | None = None
    ) -> JSONObject:
        return self._object(
            "PATCH",
            f"/schedules/{seg(name)}",
            params={"namespace": namespace},
            body=patch,
            send_body=True,
        )

    def pause_schedule(self, name: str, *, namespace: str | None = None) -> JSONObject:
        return self._object(
            "POST", f"/schedules/{seg(name)}/pause", params={"namespace": namespace}
        )

    def resume_schedule(self, name: str, *, namespace: str | None = None) -> JSONObject:
        return self._object(
            "POST", f"/schedules/{seg(name)}/resume", params={"namespace": namespace}
        )

    def delete_schedule(self, name: str, *, namespace: str | None = None) -> JSONObject:
        return self._object(
            "DELETE", f"/schedules/{seg(name)}", params={"namespace": namespace}
        )

    # --- namespaces, queues, meta -----------------------------------------------------

    def create_namespace(self, name: str) -> JSONObject:
        return self._object("POST", "/namespaces", body={"name": name}, send_body=True)

    def list_namespaces(self) -> list[JSONObject]:
        return self._array("GET", "/namespaces")

    def get_namespace(self, name: str) -> JSONObject:
        return self._object("GET", f"/namespaces/{seg(name)}")

    def delete_namespace(self, name: str) -> JSONObject:
        return self._object("DELETE", f"/namespaces/{seg(name)}")

    def queue_stats(self, *, namespace: str | None = None) -> list[JSONObject]:
        return self._array("GET", "/queues", params={"namespace": namespace})

    def health(self) -> JSONObject:
        return self._object("GET", "/health")

    def version(self) -> JSONObject:
        return self._object("GET", "/version")
