"""A grpcio client of raw-bytes methods (generic multicallables, no generated code) for the
connection-age and deadline-propagation tests (tests/interop/tests/connection_age.rs,
deadline_propagation.rs):

  relay_client.py age PORT CONNECTIONS
      Four threads call /lifetime.Ports/Get (whose reply is the client's port as the server saw
      it) until the replies name CONNECTIONS different connections, then prints
      "calls <n> failures <n> connections <n>"; each failure's status goes to stderr.
  relay_client.py deadline PORT SECONDS|none
      One call to /relay.Relay/Call, with that timeout or none; prints the reply as text.
"""

import sys
import threading
import time

import grpc

GIVE_UP = 60


def age(port, connections):
    seen, lock = set(), threading.Lock()
    counts = {"calls": 0, "failures": 0}
    stop_at = time.monotonic() + GIVE_UP

    def caller(channel):
        get = channel.unary_unary("/lifetime.Ports/Get")
        while time.monotonic() < stop_at:
            with lock:
                if len(seen) >= connections:
                    return
                counts["calls"] += 1
            try:
                reply = get(b"", timeout=10)
                with lock:
                    seen.add(reply)
            except grpc.RpcError as err:
                with lock:
                    counts["failures"] += 1
                print(f"failed: {err.code().name} {err.details()}", file=sys.stderr, flush=True)

    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        threads = [threading.Thread(target=caller, args=(channel,)) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    print(f"calls {counts['calls']} failures {counts['failures']} connections {len(seen)}", flush=True)


def deadline(port, seconds):
    timeout = None if seconds == "none" else float(seconds)
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        reply = channel.unary_unary("/relay.Relay/Call")(b"", timeout=timeout)
    print(reply.decode(), flush=True)


if __name__ == "__main__":
    mode, port, arg = sys.argv[1], sys.argv[2], sys.argv[3]
    if mode == "age":
        age(port, int(arg))
    else:
        deadline(port, arg)
