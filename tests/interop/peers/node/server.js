// The standard gRPC interop server on Node @grpc/grpc-js:
// node server.js --port P [--use_tls --tls_cert_file F --tls_key_file F]
'use strict';

const fs = require('fs');
const { grpc, load, parseFlags, flag, payload } = require('./common');

const ECHO_INITIAL = 'x-grpc-test-echo-initial';
const ECHO_TRAILING = 'x-grpc-test-echo-trailing-bin';

// The metadata to echo: initial (sent now) and trailing (returned for the status).
function echo(call) {
  const initial = call.metadata.get(ECHO_INITIAL);
  if (initial.length) {
    const md = new grpc.Metadata();
    md.set(ECHO_INITIAL, initial[0]);
    call.sendMetadata(md);
  }
  const trailing = new grpc.Metadata();
  const value = call.metadata.get(ECHO_TRAILING);
  if (value.length) trailing.set(ECHO_TRAILING, value[0]);
  return trailing;
}

function statusError(status, trailing) {
  if (!status || !status.code) return null;
  return { code: status.code, details: status.message, metadata: trailing };
}

function unary(call, callback) {
  const trailing = echo(call);
  const request = call.request;
  // expect_compressed cannot be checked: grpc-js removes grpc-encoding from the call's
  // metadata and decompresses before the handler runs, so an uncompressed request cannot be
  // told from a compressed one (see peers/README.md). response_compressed cannot be honoured
  // either: grpc-js's server never compresses a response (its compressed-flag byte is always
  // 0, and there is no per-call or per-server option for it), so it is answered uncompressed.
  const refused = statusError(request.response_status, trailing);
  if (refused) return callback(refused);
  callback(null, { payload: payload(request.response_size) }, trailing);
}

function sleep(us) {
  return new Promise((resolve) => setTimeout(resolve, us / 1000));
}

async function writeResponses(call, request) {
  for (const parameters of request.response_parameters) {
    if (parameters.interval_us) await sleep(parameters.interval_us);
    call.write({ payload: payload(parameters.size) });
  }
}

const service = {
  emptyCall(call, callback) {
    callback(null, {}, echo(call));
  },
  unaryCall: unary,
  cacheableUnaryCall: unary,
  // Responses are never compressed (see unary), whatever response_parameters.compressed says.
  async streamingOutputCall(call) {
    const trailing = echo(call);
    await writeResponses(call, call.request);
    const error = statusError(call.request.response_status, trailing);
    if (error) return call.emit('error', error);
    call.end(trailing);
  },
  streamingInputCall(call, callback) {
    const trailing = echo(call);
    let total = 0;
    call.on('data', (request) => {
      total += request.payload ? request.payload.body.length : 0;
    });
    call.on('end', () => callback(null, { aggregated_payload_size: total }, trailing));
  },
  fullDuplexCall(call) {
    const trailing = echo(call);
    let chain = Promise.resolve();
    let failed = false;
    call.on('data', (request) => {
      chain = chain.then(async () => {
        if (failed) return;
        await writeResponses(call, request);
        const error = statusError(request.response_status, trailing);
        if (error) {
          failed = true;
          call.emit('error', error);
        }
      });
    });
    call.on('end', () => chain.then(() => failed || call.end(trailing)));
  },
  halfDuplexCall(call) {
    const trailing = echo(call);
    const requests = [];
    call.on('data', (request) => requests.push(request));
    call.on('end', async () => {
      for (const request of requests) await writeResponses(call, request);
      call.end(trailing);
    });
  },
};

function main() {
  const flags = parseFlags(process.argv.slice(2));
  if (!flags.port) {
    console.error('server.js: --port is required');
    process.exit(2);
  }
  const testing = load();
  const server = new grpc.Server();
  // Everything but UnimplementedCall, which must answer UNIMPLEMENTED.
  server.addService(testing.TestService.service, service);
  let credentials = grpc.ServerCredentials.createInsecure();
  if (flag(flags, 'use_tls')) {
    credentials = grpc.ServerCredentials.createSsl(null, [
      { private_key: fs.readFileSync(flags.tls_key_file), cert_chain: fs.readFileSync(flags.tls_cert_file) },
    ]);
  }
  server.bindAsync(`[::]:${flags.port}`, credentials, (error, port) => {
    if (error) {
      console.error(`server.js: ${error.message}`);
      process.exit(1);
    }
    console.log(`listening on ${port}`);
  });
  const stop = () => {
    // Open calls get a second to finish, then are cut.
    setTimeout(() => {
      server.forceShutdown();
      process.exit(0);
    }, 1000).unref();
    server.tryShutdown(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main();
