// The standard gRPC interop client on Node @grpc/grpc-js:
// node client.js --server_host H --server_port P --test_case NAME [--use_tls] [--use_test_ca]
//                [--ca_file F] [--server_host_override NAME]
// Exit 0 on pass, 1 with a reason on failure, 3 with `UNSUPPORTED: reason` when grpc-js cannot
// run the case.
'use strict';

const fs = require('fs');
const { grpc, load, parseFlags, flag, payload } = require('./common');

const TIMEOUT_MS = 20000;
const GZIP = 2; // grpc.default_compression_algorithm: 0 identity, 1 deflate, 2 gzip

class Failure extends Error {}

function ensure(condition, message) {
  if (!condition) throw new Failure(message);
}

function deadline(ms = TIMEOUT_MS) {
  return { deadline: Date.now() + ms };
}

// A unary or client-streaming call as a promise of { response, metadata, status }.
function unaryCall(client, method, request, metadata = new grpc.Metadata(), options = deadline()) {
  return new Promise((resolve, reject) => {
    let headers = null;
    const call = client[method](request, metadata, options, (error, response) => {
      if (error) reject(error);
      else call.on('status', (status) => resolve({ response, headers, status }));
    });
    call.on('metadata', (md) => {
      headers = md;
    });
  });
}

// Collects a response stream: { responses, headers, status } or rejects with the error.
function collect(call) {
  return new Promise((resolve, reject) => {
    const responses = [];
    let headers = null;
    call.on('metadata', (md) => {
      headers = md;
    });
    call.on('data', (response) => responses.push(response));
    call.on('error', reject);
    call.on('status', (status) => {
      if (status.code === grpc.status.OK) resolve({ responses, headers, status });
    });
  });
}

function nextMessage(call) {
  return new Promise((resolve, reject) => {
    const onData = (message) => {
      call.off('error', onError);
      resolve(message);
    };
    const onError = (error) => {
      call.off('data', onData);
      reject(error);
    };
    call.once('data', onData);
    call.once('error', onError);
  });
}

async function expectCode(promise, code, what) {
  try {
    await promise;
  } catch (error) {
    ensure(error.code === code, `${what}: expected code ${code}, got ${error.code} ${JSON.stringify(error.details)}`);
    return error;
  }
  throw new Failure(`${what}: expected code ${code}, the call succeeded`);
}

const largeRequest = (extra = {}) => ({ response_size: 314159, payload: payload(271828), ...extra });
const streamingRequest = (size, payloadSize, extra = {}) => ({
  response_parameters: [{ size }],
  payload: payload(payloadSize),
  ...extra,
});

const cases = {
  async empty_unary({ client }) {
    await unaryCall(client, 'emptyCall', {});
  },
  async large_unary({ client }) {
    const { response } = await unaryCall(client, 'unaryCall', largeRequest());
    ensure(response.payload.body.length === 314159, `response payload ${response.payload.body.length} bytes`);
  },
  async client_compressed_unary({ client, compressing }) {
    const expecting = (value) => largeRequest({ expect_compressed: { value } });
    await expectCode(unaryCall(client, 'unaryCall', expecting(true)), grpc.status.INVALID_ARGUMENT, 'probe');
    await unaryCall(compressing, 'unaryCall', expecting(true));
    await unaryCall(client, 'unaryCall', expecting(false));
  },
  async server_compressed_unary({ client }) {
    for (const value of [true, false]) {
      const { response } = await unaryCall(client, 'unaryCall', largeRequest({ response_compressed: { value } }));
      ensure(response.payload.body.length === 314159, 'wrong response size');
    }
  },
  async client_streaming({ client }) {
    const { response } = await new Promise((resolve, reject) => {
      const call = client.streamingInputCall(new grpc.Metadata(), deadline(), (error, response) =>
        error ? reject(error) : resolve({ response }));
      for (const size of [27182, 8, 1828, 45904]) call.write({ payload: payload(size) });
      call.end();
    });
    ensure(response.aggregated_payload_size === 74922, `aggregated ${response.aggregated_payload_size}`);
  },
  async client_compressed_streaming({ client, compressing }) {
    const send = (target, sizes) =>
      new Promise((resolve, reject) => {
        const call = target.streamingInputCall(new grpc.Metadata(), deadline(), (error, response) =>
          error ? reject(error) : resolve(response));
        for (const size of sizes) call.write({ payload: payload(size), expect_compressed: { value: true } });
        call.end();
      });
    await expectCode(send(client, [27182]), grpc.status.INVALID_ARGUMENT, 'probe');
    const response = await send(compressing, [27182, 45904]);
    ensure(response.aggregated_payload_size === 73086, `aggregated ${response.aggregated_payload_size}`);
  },
  async server_streaming({ client }, compressed = false) {
    const sizes = compressed ? [31415, 92653] : [31415, 9, 2653, 58979];
    const response_parameters = sizes.map((size, i) => (compressed ? { size, compressed: { value: i === 0 } } : { size }));
    const { responses } = await collect(client.streamingOutputCall({ response_parameters }, new grpc.Metadata(), deadline()));
    const got = responses.map((r) => r.payload.body.length);
    ensure(JSON.stringify(got) === JSON.stringify(sizes), `sizes ${got}, want ${sizes}`);
  },
  async server_compressed_streaming(peer) {
    await cases.server_streaming(peer, true);
  },
  async ping_pong({ client }) {
    const call = client.fullDuplexCall(new grpc.Metadata(), deadline());
    const done = collect(call);
    for (const [size, payloadSize] of [[31415, 27182], [9, 8], [2653, 1828], [58979, 45904]]) {
      call.write(streamingRequest(size, payloadSize));
      const response = await nextMessage(call);
      ensure(response.payload.body.length === size, `got ${response.payload.body.length} bytes, want ${size}`);
    }
    call.end();
    await done;
  },
  async empty_stream({ client }) {
    const call = client.fullDuplexCall(new grpc.Metadata(), deadline());
    const done = collect(call);
    call.end();
    const { responses } = await done;
    ensure(responses.length === 0, 'got a response');
  },
  async timeout_on_sleeping_server({ client }) {
    const call = client.fullDuplexCall(new grpc.Metadata(), deadline(1));
    call.write({ payload: payload(27182) });
    await expectCode(collect(call), grpc.status.DEADLINE_EXCEEDED, '1 ms deadline');
  },
  async cancel_after_begin({ client }) {
    const result = new Promise((resolve, reject) => {
      const call = client.streamingInputCall(new grpc.Metadata(), deadline(), (error, response) =>
        error ? reject(error) : resolve(response));
      setTimeout(() => call.cancel(), 10);
    });
    await expectCode(result, grpc.status.CANCELLED, 'cancelled after begin');
  },
  async cancel_after_first_response({ client }) {
    const call = client.fullDuplexCall(new grpc.Metadata(), deadline());
    const errored = new Promise((resolve) => call.on('error', resolve));
    call.write(streamingRequest(31415, 27182));
    const first = await nextMessage(call);
    ensure(first.payload.body.length === 31415, 'wrong first response');
    call.cancel();
    const error = await errored;
    ensure(error.code === grpc.status.CANCELLED, `expected CANCELLED, got ${error.code}`);
  },
  async status_code_and_message(peer, message = 'test status message') {
    const { client } = peer;
    const echo = { code: 2, message };
    const unary = await expectCode(unaryCall(client, 'unaryCall', { response_status: echo }), grpc.status.UNKNOWN, 'UnaryCall');
    ensure(unary.details === message, `UnaryCall details ${JSON.stringify(unary.details)}`);
    const call = client.fullDuplexCall(new grpc.Metadata(), deadline());
    const done = collect(call);
    call.write({ response_status: echo });
    call.end();
    const duplex = await expectCode(done, grpc.status.UNKNOWN, 'FullDuplexCall');
    ensure(duplex.details === message, `FullDuplexCall details ${JSON.stringify(duplex.details)}`);
  },
  async special_status_message(peer) {
    await cases.status_code_and_message(peer, '\t\ntest with whitespace\r\nand Unicode BMP \u263A and non-BMP \u{1F608}\t\n');
  },
  async custom_metadata({ client }) {
    const metadata = new grpc.Metadata();
    metadata.set('x-grpc-test-echo-initial', 'test_initial_metadata_value');
    metadata.set('x-grpc-test-echo-trailing-bin', Buffer.from([0xab, 0xab, 0xab]));
    const check = (headers, trailers, what) => {
      const initial = headers && headers.get('x-grpc-test-echo-initial');
      ensure(initial && initial[0] === 'test_initial_metadata_value', `${what}: initial ${JSON.stringify(initial)}`);
      const trailing = trailers && trailers.get('x-grpc-test-echo-trailing-bin');
      ensure(trailing && Buffer.compare(trailing[0], Buffer.from([0xab, 0xab, 0xab])) === 0, `${what}: trailing`);
    };
    const unary = await unaryCall(client, 'unaryCall', largeRequest(), metadata);
    check(unary.headers, unary.status.metadata, 'UnaryCall');
    const call = client.fullDuplexCall(metadata, deadline());
    const done = collect(call);
    call.write(streamingRequest(314159, 271828));
    call.end();
    const duplex = await done;
    check(duplex.headers, duplex.status.metadata, 'FullDuplexCall');
  },
  async unimplemented_method({ client }) {
    await expectCode(unaryCall(client, 'unimplementedCall', {}), grpc.status.UNIMPLEMENTED, 'UnimplementedCall');
  },
  async unimplemented_service({ unimplemented }) {
    await expectCode(unaryCall(unimplemented, 'unimplementedCall', {}), grpc.status.UNIMPLEMENTED,
      'UnimplementedService/UnimplementedCall');
  },
};

async function main() {
  const flags = parseFlags(process.argv.slice(2));
  const name = flags.test_case;
  if (!cases[name]) {
    console.error(`unknown test case ${name}`);
    return 1;
  }
  if (!flags.server_port) {
    console.error('--server_port is required');
    return 2;
  }
  if (flag(flags, 'use_tls') && flag(flags, 'use_test_ca') && !flags.ca_file) {
    console.error('--use_test_ca needs --ca_file');
    return 2;
  }
  const testing = load();
  const target = `${flags.server_host || 'localhost'}:${flags.server_port}`;
  let credentials = grpc.credentials.createInsecure();
  const options = {};
  if (flag(flags, 'use_tls')) {
    const root = flag(flags, 'use_test_ca') || flags.ca_file ? fs.readFileSync(flags.ca_file) : null;
    credentials = grpc.credentials.createSsl(root);
    if (flags.server_host_override) {
      options['grpc.ssl_target_name_override'] = flags.server_host_override;
      options['grpc.default_authority'] = flags.server_host_override;
    }
  }
  const peer = {
    client: new testing.TestService(target, credentials, options),
    // grpc-js compresses per channel, not per call: a second client for compressed requests.
    compressing: new testing.TestService(target, credentials, { ...options, 'grpc.default_compression_algorithm': GZIP }),
    unimplemented: new testing.UnimplementedService(target, credentials, options),
  };
  try {
    await cases[name](peer);
    return 0;
  } catch (error) {
    console.error(`${name}: ${error instanceof Failure ? error.message : `unexpected ${error.code} ${error.details || error.message}`}`);
    return 1;
  } finally {
    Object.values(peer).forEach((c) => c.close());
  }
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(`client.js: ${error && error.message ? error.message : error}`);
    process.exit(1);
  },
);
