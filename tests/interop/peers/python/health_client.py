"""grpcio-health-checking's client against a health service on 127.0.0.1:PORT.

Prints one line per answer: Check of "" and of an unknown service, List, then Watch of
helloworld.Greeter for three updates (the test changes the status after each line it reads),
then cancels the Watch and prints "done". Usage: health_client.py PORT
"""

import sys

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


def name(status):
    return health_pb2.HealthCheckResponse.ServingStatus.Name(status)


def main(port):
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        answer = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=30)
        print("check", "-", name(answer.status), flush=True)
        try:
            stub.Check(health_pb2.HealthCheckRequest(service="no.such.Service"), timeout=30)
            print("check", "no.such.Service", "OK", flush=True)
        except grpc.RpcError as err:
            print("check", "no.such.Service", err.code().name, flush=True)
        listed = stub.List(health_pb2.HealthListRequest(), timeout=30)
        entries = [f"{service or '-'}={name(r.status)}" for service, r in sorted(listed.statuses.items())]
        print("list", " ".join(entries), flush=True)
        watch = stub.Watch(health_pb2.HealthCheckRequest(service="helloworld.Greeter"), timeout=60)
        for seen, answer in enumerate(watch, start=1):
            print("watch", name(answer.status), flush=True)
            if seen == 3:
                watch.cancel()
                break
        print("done", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
