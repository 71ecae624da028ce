"""grpcio's round_robin over a name served by a DNS server on 127.0.0.1 (dnsmasq): the
reference for rust-rpc's (tests/interop/tests/load_balancing.rs).

Calls the generic method /lb.Replica/Who (raw bytes; each replica answers with its own name)
until every one of REPLICAS names has answered, then CALLS more, and prints how many each
answered: "r1=N r2=N ...". Usage: lb_client.py DNS_PORT PORT REPLICAS CALLS
"""

import collections
import sys

import grpc


def main(dns_port, port, replicas, calls):
    target = f"dns://127.0.0.1:{dns_port}/svc.test:{port}"
    options = [("grpc.lb_policy_name", "round_robin")]
    with grpc.insecure_channel(target, options=options) as channel:
        who = channel.unary_unary("/lb.Replica/Who")
        grpc.channel_ready_future(channel).result(timeout=30)
        seen = set()
        for _ in range(10000):
            seen.add(who(b"warm-up", timeout=30))
            if len(seen) == replicas:
                break
        else:
            sys.exit(f"only {sorted(seen)} answered")
        counts = collections.Counter(who(b"x", timeout=30) for _ in range(calls))
        print(" ".join(f"{name.decode()}={n}" for name, n in sorted(counts.items())), flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
