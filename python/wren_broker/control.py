"""A thin client of Wren's HTTP control listener (`wren --control`), stdlib only."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Optional


class ControlError(RuntimeError):
    """The broker refused a control request: `status` (HTTP), `error` (a Kafka error name such
    as TOPIC_ALREADY_EXISTS, or INVALID_REQUEST / NOT_FOUND), `error_code` (Kafka's, or None)."""

    def __init__(self, status: int, body: dict):
        self.status = status
        self.error = body.get("error")
        self.error_code = body.get("error_code")
        self.message = body.get("message", "")
        super().__init__(f"{status} {self.error}: {self.message}")


class Control:
    """The routes of `wren --control HOST:PORT`, one method each. Answers are the decoded JSON."""

    def __init__(self, address: str, timeout: float = 30.0):
        self.address = address
        self.url = f"http://{address}"
        self.timeout = timeout

    def _call(self, method: str, path: str, body: Any = None, query: Optional[dict] = None) -> Any:
        url = self.url + path
        if query:
            url += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                parsed = json.loads(raw)
            except ValueError:
                parsed = {"error": "HTTP_ERROR", "message": raw.decode("utf-8", "replace")}
            raise ControlError(e.code, parsed) from None

    def health(self) -> dict:
        return self._call("GET", "/v1/health")

    # -- topics ---------------------------------------------------------------------------
    def create_topic(self, name: str, partitions: Optional[int] = None, configs: Optional[dict] = None) -> dict:
        """CreateTopics' validation; `partitions=None` takes num.partitions."""
        body: dict = {"name": name}
        if partitions is not None:
            body["partitions"] = partitions
        if configs:
            body["configs"] = configs
        return self._call("POST", "/v1/topics", body)

    def topics(self) -> list:
        return self._call("GET", "/v1/topics")

    # -- time -----------------------------------------------------------------------------
    def advance_clock(self, ms: int) -> dict:
        """Move the broker's clock forward; returns once every timer now due has run."""
        return self._call("POST", "/v1/clock/advance", {"ms": int(ms)})

    def clock(self) -> dict:
        return self._call("GET", "/v1/clock")

    def reset(self) -> dict:
        """Delete every topic, group, offset and transaction; same address, same process."""
        return self._call("POST", "/v1/reset")

    # -- faults ---------------------------------------------------------------------------
    def add_fault(self, rule: dict) -> int:
        """A rule as `wren --fault` reads it, e.g. {"api": "Produce", "error_code": 6, "count": 2}."""
        return self._call("POST", "/v1/faults", rule)["id"]

    def faults(self) -> list:
        """Every rule with how many times it fired."""
        return self._call("GET", "/v1/faults")

    def remove_fault(self, rule_id: int) -> None:
        self._call("DELETE", f"/v1/faults/{int(rule_id)}")

    def clear_faults(self) -> int:
        return self._call("DELETE", "/v1/faults")["removed"]

    # -- request log ----------------------------------------------------------------------
    def requests(self, api: Optional[str] = None, since: Optional[int] = None, wait_ms: Optional[int] = None) -> list:
        """The logged requests, oldest first; `wait_ms` waits for a first match."""
        return self._call("GET", "/v1/requests", query={"api": api, "since": since, "wait_ms": wait_ms})

    # -- simulated cluster (`brokers=N`) ------------------------------------------------
    def cluster(self) -> dict:
        """{"cluster_id", "controller", "brokers": [{"id", "host", "port", "up"}, ...]}"""
        return self._call("GET", "/v1/cluster")

    def stop_broker(self, broker_id: int) -> dict:
        """Its listener closes and its connections drop; partitions it led move to an ISR member."""
        return self._call("POST", f"/v1/brokers/{int(broker_id)}/stop")

    def start_broker(self, broker_id: int) -> dict:
        """Listens on its port again and rejoins the ISRs; leadership does not move back."""
        return self._call("POST", f"/v1/brokers/{int(broker_id)}/start")

    def partitions(self, topic: str) -> list:
        """[{"partition", "leader", "leader_epoch", "replicas", "isr"}, ...]"""
        return self._call("GET", f"/v1/topics/{_q(topic)}/partitions")

    def move_leader(self, topic: str, partition: int, broker_id: int) -> dict:
        return self._call("POST", f"/v1/topics/{_q(topic)}/partitions/{int(partition)}/leader",
                          {"broker": int(broker_id)})

    def set_isr(self, topic: str, partition: int, isr: list) -> dict:
        """Shrink or grow the ISR (a subset of the replicas), e.g. below min.insync.replicas."""
        return self._call("POST", f"/v1/topics/{_q(topic)}/partitions/{int(partition)}/isr",
                          {"isr": [int(b) for b in isr]})

    def group_coordinator(self, group: str) -> int:
        return self._call("GET", f"/v1/coordinators/group/{_q(group)}")["broker"]

    def transaction_coordinator(self, transactional_id: str) -> int:
        return self._call("GET", f"/v1/coordinators/transaction/{_q(transactional_id)}")["broker"]

    def __repr__(self) -> str:
        return f"<wren_broker.Control {self.url}>"


def _q(name: str) -> str:
    return urllib.parse.quote(name, safe="")
