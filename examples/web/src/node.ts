// The same calls from node (its fetch speaks HTTP/1.1): a non-browser gRPC-Web client.
// Usage: node bundle-node.js http://127.0.0.1:PORT
import { runAll } from "./calls";

runAll(process.argv[2] ?? "http://localhost:8080").then(
  (results) => console.log(`GRPC_WEB_RESULTS ${JSON.stringify(results)}`),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
