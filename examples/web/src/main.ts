// The example page: runs the calls against the server named in ?server= and shows the results;
// the test reads them from the console line starting with GRPC_WEB_RESULTS.
import { runAll } from "./calls";

const server = new URLSearchParams(location.search).get("server") ?? "http://localhost:8080";
const out = document.getElementById("results") as HTMLElement;
runAll(server)
  .then((results) => {
    const json = JSON.stringify(results);
    out.textContent = JSON.stringify(results, null, 2);
    console.log(`GRPC_WEB_RESULTS ${json}`);
  })
  .catch((err) => {
    out.textContent = `failed: ${err}`;
    console.log(`GRPC_WEB_RESULTS ${JSON.stringify({ failed: String(err) })}`);
  });
