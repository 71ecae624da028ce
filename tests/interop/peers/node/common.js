// Shared by the Node interop peer: flag parsing and the grpc.testing definitions, loaded at
// run time from the repository's protos with @grpc/proto-loader.
'use strict';

const path = require('path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const PROTOS = path.resolve(__dirname, '..', '..', '..', '..', 'protos');

function load() {
  const definition = protoLoader.loadSync('grpc/testing/test.proto', {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
    includeDirs: [PROTOS],
  });
  return grpc.loadPackageDefinition(definition).grpc.testing;
}

// `--name value`, `--name=value` and bare booleans, as every interop binary takes them.
function parseFlags(argv) {
  const flags = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new Error(`unexpected argument ${arg}`);
    let name = arg.slice(2);
    let value = 'true';
    const eq = name.indexOf('=');
    if (eq >= 0) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    } else if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) {
      value = argv[++i];
    }
    flags[name] = value;
  }
  return flags;
}

function flag(flags, name) {
  return ['true', '1', 'yes'].includes(String(flags[name] || 'false').toLowerCase());
}

function payload(size) {
  return { type: 'COMPRESSABLE', body: Buffer.alloc(size) };
}

module.exports = { grpc, load, parseFlags, flag, payload };
