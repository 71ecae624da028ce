"""A grpcio client of methods that no service defines, only a rust-rpc server's fallback handler
answers (tests/interop/tests/fallback.rs). It uses grpcio's generic multicallables with raw
bytes (no generated code), and prints what it got, one line per call, for the Rust test to check:

  fallback_client.py --port P
      unary <reply as hex> <trailing x-seen>        /dynamic.Anything/Echo with metadata x-tag: py
      chat <reply as hex>,<reply as hex>            /dynamic.Anything/Chat, two requests
      fail <status code name> <details>             /dynamic.Anything/Fail
Exits 0 once all three calls have been made."""

import sys

import grpc

TIMEOUT = 10


def main(argv):
    port = argv[argv.index("--port") + 1]
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        echo = channel.unary_unary("/dynamic.Anything/Echo")
        reply, call = echo.with_call(b"\x00raw\xff", metadata=[("x-tag", "py")], timeout=TIMEOUT)
        seen = dict(call.trailing_metadata()).get("x-seen", "none")
        print(f"unary {reply.hex()} {seen}", flush=True)

        chat = channel.stream_stream("/dynamic.Anything/Chat")
        replies = chat(iter([b"a", b"bc"]), timeout=TIMEOUT)
        print("chat " + ",".join(r.hex() for r in replies), flush=True)

        try:
            channel.unary_unary("/dynamic.Anything/Fail")(b"", timeout=TIMEOUT)
            print("fail none", flush=True)
        except grpc.RpcError as err:
            print(f"fail {err.code().name} {err.details()}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
