//! `interop-certs DIR`: writes a test CA (`ca.pem`) and a server certificate and key
//! (`server.pem`, `server.key`) for `*.test.google.fr`, `localhost` and 127.0.0.1, made fresh
//! on every run, so no key material is committed.

use std::path::Path;

fn write(dir: &Path) -> Result<(), Box<dyn std::error::Error>> {
    std::fs::create_dir_all(dir)?;
    let ca_key = rcgen::KeyPair::generate()?;
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name.push(rcgen::DnType::CommonName, "rust-rpc interop test CA");
    let ca_cert = ca.self_signed(&ca_key)?;
    let issuer = rcgen::Issuer::new(ca, ca_key);

    let server_key = rcgen::KeyPair::generate()?;
    let names = vec!["*.test.google.fr".to_owned(), "localhost".to_owned(), "127.0.0.1".to_owned()];
    let server = rcgen::CertificateParams::new(names)?.signed_by(&server_key, &issuer)?;

    std::fs::write(dir.join("ca.pem"), ca_cert.pem())?;
    std::fs::write(dir.join("server.pem"), server.pem())?;
    std::fs::write(dir.join("server.key"), server_key.serialize_pem())?;
    Ok(())
}

fn main() -> std::process::ExitCode {
    let Some(dir) = std::env::args().nth(1) else {
        eprintln!("usage: interop-certs DIR");
        return std::process::ExitCode::FAILURE;
    };
    match write(Path::new(&dir)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("interop-certs: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
