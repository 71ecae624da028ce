// The calls the example page (main.ts) and the node client (node.ts) make to grpc-web-server,
// through connect-web's gRPC-Web transport; each result is plain JSON for the test to check.
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { BadRequestSchema } from "./gen/google/rpc/error_details_pb";
import { Greeter } from "./gen/helloworld_pb";
import { StreamingGreeter } from "./gen/helloworld_stream_pb";

type Result = Record<string, unknown>;

function failure(err: unknown): Result {
  const e = ConnectError.from(err);
  return {
    code: Code[e.code],
    message: e.rawMessage,
    badRequest: e.findDetails(BadRequestSchema).map((d) => d.fieldViolations.map((v) => v.field)),
    trailer: e.metadata.get("x-served-by"),
  };
}

export async function runAll(baseUrl: string): Promise<Result> {
  const transport = createGrpcWebTransport({ baseUrl });
  const greeter = createClient(Greeter, transport);
  const streaming = createClient(StreamingGreeter, transport);
  const results: Result = {};

  // Unary, with metadata both ways: x-request-id out and back (initial metadata), x-served-by
  // in the trailers.
  try {
    let header: Headers | undefined;
    let trailer: Headers | undefined;
    const reply = await greeter.sayHello(
      { name: "browser" },
      { headers: { "x-request-id": "req-42" }, onHeader: (h) => (header = h), onTrailer: (t) => (trailer = t) },
    );
    results.unary = {
      message: reply.message,
      requestId: header?.get("x-request-id"),
      servedBy: trailer?.get("x-served-by"),
    };
  } catch (err) {
    results.unary = failure(err);
  }

  // A server stream of several messages.
  try {
    const messages: string[] = [];
    for await (const reply of streaming.sayHelloStream({ name: "stream", count: 5, intervalMs: 10 })) {
      messages.push(reply.message);
    }
    results.stream = { messages };
  } catch (err) {
    results.stream = failure(err);
  }

  // An error status with rich details (google.rpc.BadRequest).
  try {
    await greeter.sayHello({ name: "" });
    results.error = { code: "OK" };
  } catch (err) {
    results.error = failure(err);
  }

  // A deadline: a stream that would take a minute, with 300 ms to run.
  try {
    const messages: string[] = [];
    for await (const reply of streaming.sayHelloStream(
      { name: "slow", count: 60, intervalMs: 1000 },
      { timeoutMs: 300 },
    )) {
      messages.push(reply.message);
    }
    results.deadline = { code: "OK", messages };
  } catch (err) {
    // Only the code: the browser's timer or the server's status may come first.
    results.deadline = { code: Code[ConnectError.from(err).code] };
  }

  return results;
}
