#!/usr/bin/env python3
"""The Python reference line of the runtime benchmark: a grpcio *sync* server (grpc.server on a
ThreadPoolExecutor, as in grpcio's own helloworld example) serving helloworld.Greeter, with the
same answer as rpc-bench's servers ("Hello " + name).

Usage (with the venv of tests/interop/peers/setup.sh, run by scripts/bench-runtime.py):
    python grpcio-server.py --port P --stubs DIR [--workers N]
DIR holds helloworld_pb2.py and helloworld_pb2_grpc.py, generated at run time by grpcio-tools
from protos/helloworld.proto (never committed). Prints "listening on P" once serving, then
serves until terminated.
"""

import argparse
import sys
from concurrent import futures


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--stubs", required=True)
    parser.add_argument("--workers", type=int, default=10)
    options = parser.parse_args()
    sys.path.insert(0, options.stubs)
    import grpc
    import helloworld_pb2
    import helloworld_pb2_grpc

    class Greeter(helloworld_pb2_grpc.GreeterServicer):
        def SayHello(self, request, context):
            return helloworld_pb2.HelloReply(message="Hello " + request.name)

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=options.workers))
    helloworld_pb2_grpc.add_GreeterServicer_to_server(Greeter(), server)
    if server.add_insecure_port(f"127.0.0.1:{options.port}") != options.port:
        sys.exit(f"grpcio-server: could not bind 127.0.0.1:{options.port}")
    server.start()
    print(f"listening on {options.port}", flush=True)
    server.wait_for_termination()


if __name__ == "__main__":
    main()
