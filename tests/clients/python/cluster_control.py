"""The cluster routes of Wren's control listener (`wren --brokers N --control ...`), for the tests
that stop brokers and move leaders under real clients (test_cluster.py). `b` is the `cluster`
fixture's handle (conftest.py): `.control` is http://HOST:PORT, `.brokers` id -> HOST:PORT."""

import json
import time
import urllib.parse
import urllib.request

PATIENCE_S = 60


def control(b, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(b.control + path, data=data, method=method,
                                 headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        return json.loads(resp.read() or b"null")


def quote(name):
    return urllib.parse.quote(name, safe="")


def cluster(b):
    """{"cluster_id", "controller", "brokers": [{"id", "host", "port", "up"}, ...]}"""
    return control(b, "GET", "/v1/cluster")


def bootstrap_all(b):
    """Every broker's address: a client that starts while one broker is down still connects."""
    return ",".join(b.brokers[i] for i in sorted(b.brokers))


def stop_broker(b, broker_id):
    answer = control(b, "POST", f"/v1/brokers/{broker_id}/stop")
    assert answer == {"id": broker_id, "up": False}, answer
    return answer


def start_broker(b, broker_id):
    answer = control(b, "POST", f"/v1/brokers/{broker_id}/start")
    assert answer == {"id": broker_id, "up": True}, answer
    return answer


def partitions(b, topic):
    """[{"partition", "leader", "leader_epoch", "replicas", "isr"}, ...] by partition."""
    return sorted(control(b, "GET", f"/v1/topics/{quote(topic)}/partitions"),
                  key=lambda p: p["partition"])


def partition(b, topic, p):
    return next(x for x in partitions(b, topic) if x["partition"] == p)


def move_leader(b, topic, p, broker_id):
    return control(b, "POST", f"/v1/topics/{quote(topic)}/partitions/{p}/leader", {"broker": broker_id})


def set_isr(b, topic, p, isr):
    return control(b, "POST", f"/v1/topics/{quote(topic)}/partitions/{p}/isr", {"isr": list(isr)})


def group_coordinator(b, group):
    return control(b, "GET", f"/v1/coordinators/group/{quote(group)}")["broker"]


def transaction_coordinator(b, txn_id):
    return control(b, "GET", f"/v1/coordinators/transaction/{quote(txn_id)}")["broker"]


def wait_until(condition, what, patience=PATIENCE_S, step=0.02):
    """Polls `condition()` until it returns a truthy value (returned), or fails naming `what`
    (a string, or a function giving one: the state at the deadline)."""
    deadline = time.monotonic() + patience
    while True:
        got = condition()
        if got:
            return got
        assert time.monotonic() < deadline, f"{what() if callable(what) else what}: not within {patience}s"
        time.sleep(step)
