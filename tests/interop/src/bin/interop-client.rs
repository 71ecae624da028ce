//! `interop-client --server_host H --server_port P --test_case NAME [--use_tls] [--use_test_ca]
//! [--ca_file F] [--server_host_override NAME]`; `--test_case all` runs every case.

use interop::args::Args;
use interop::cases::{CASES, run};
use interop::pb::{TestServiceClient, UnimplementedServiceClient};
use rust_rpc::ChannelCredentials;

async fn client(args: &Args) -> Result<(TestServiceClient, UnimplementedServiceClient), String> {
    let host = args.get("server_host").unwrap_or("localhost");
    let port = args.required("server_port")?;
    let target = if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") };
    let channel = if args.flag("use_tls") {
        let mut credentials = if args.flag("use_test_ca") || args.get("ca_file").is_some() {
            ChannelCredentials::with_root_ca(args.read_file("ca_file")?)
        } else {
            ChannelCredentials::system_roots()
        };
        if let Some(name) = args.get("server_host_override") {
            credentials = credentials.server_name_override(name);
        }
        rust_rpc::secure_channel(&target, credentials)
    } else {
        rust_rpc::insecure_channel(&target)
    }
    .map_err(|e| e.to_string())?;
    Ok((TestServiceClient::new(channel.clone()), UnimplementedServiceClient::new(channel)))
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = match Args::parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(e) => {
            eprintln!("interop-client: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let (test, unimplemented) = match client(&args).await {
        Ok(clients) => clients,
        Err(e) => {
            eprintln!("interop-client: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let case = args.get("test_case").unwrap_or("all");
    let cases: Vec<&str> = if case == "all" { CASES.to_vec() } else { vec![case] };
    let mut failed = 0;
    for case in &cases {
        match run(case, &test, &unimplemented).await {
            Ok(()) => println!("{case}: PASS"),
            Err(e) => {
                failed += 1;
                println!("{case}: FAIL: {e}");
                eprintln!("interop-client: {case} failed: {e}");
            }
        }
    }
    if failed == 0 { std::process::ExitCode::SUCCESS } else { std::process::ExitCode::FAILURE }
}
