//! `interop-server --port P [--use_tls --tls_cert_file F --tls_key_file F]`

use interop::args::Args;
use interop::pb::add_test_service_servicer_to_server;
use interop::service::TestService;
use rust_rpc::{Server, ServerCredentials};

async fn serve(args: Args) -> Result<(), String> {
    let port = args.required("port")?;
    let address = format!("[::]:{port}");
    let server = Server::new();
    add_test_service_servicer_to_server(TestService, &server).map_err(|e| e.to_string())?;
    let bound = if args.flag("use_tls") {
        let credentials = ServerCredentials::new(args.read_file("tls_cert_file")?, args.read_file("tls_key_file")?);
        server.add_secure_port(&address, credentials)
    } else {
        server.add_insecure_port(&address)
    }
    .map_err(|e| e.to_string())?;
    server.start().map_err(|e| e.to_string())?;
    println!("listening on {bound}");
    // SIGTERM or Ctrl-C: calls in flight get five seconds to finish, then the process exits 0.
    server.stop_on_signals(Some(std::time::Duration::from_secs(5))).map_err(|e| e.to_string())?;
    server.wait_for_termination(None).await;
    Ok(())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let result = match Args::parse(std::env::args().skip(1)) {
        Ok(args) => serve(args).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("interop-server: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
