"""A grpcio client with an abusive keepalive setting against a health service on
127.0.0.1:PORT: a PING every 100 ms, with or without calls, and no limit on PINGs without data.

Prints "first <status>" after a Check, then "left READY for <state>" once the channel's
connection goes away (or "still READY" if it has not within WAIT seconds), then "second
<status>" after another Check on the same channel. gRPC core logs the server's GOAWAY to
stderr. Usage: keepalive_client.py PORT WAIT
"""

import sys
import threading

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

ABUSIVE = [
    ("grpc.keepalive_time_ms", 100),
    ("grpc.keepalive_timeout_ms", 20000),
    ("grpc.http2.max_pings_without_data", 0),
    ("grpc.keepalive_permit_without_calls", 1),
]


def check(stub):
    answer = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=30)
    return health_pb2.HealthCheckResponse.ServingStatus.Name(answer.status)


def main(port, wait):
    states = []
    changed = threading.Condition()

    def record(state):
        with changed:
            states.append(state)
            changed.notify_all()

    with grpc.insecure_channel(f"127.0.0.1:{port}", options=ABUSIVE) as channel:
        channel.subscribe(record, try_to_connect=False)
        stub = health_pb2_grpc.HealthStub(channel)
        print("first", check(stub), flush=True)
        ready = grpc.ChannelConnectivity.READY
        with changed:
            left = changed.wait_for(lambda: ready in states and states[-1] != ready, timeout=wait)
            state = states[-1]
        print(f"left READY for {state.name}" if left else "still READY", flush=True)
        print("second", check(stub), flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]), float(sys.argv[2]))
