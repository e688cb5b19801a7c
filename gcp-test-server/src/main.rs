//! `gcp-test-server [--host ADDR] [--port N]`: runs the GCP test server until SIGINT or
//! SIGTERM. Its first stdout line is `listening on http://ADDR:PORT` (flushed), so a
//! parent process can start it with `--port 0` and read the port it got.
#![forbid(unsafe_code)]

use std::io::Write as _;
use std::process::ExitCode;

const USAGE: &str = "usage: gcp-test-server [--host ADDR] [--port N]\n\n\
Serves Resource Manager v1/v3, IAM v1 and Secret Manager v1 over plain HTTP.\n\
  --host ADDR   address to bind (default 127.0.0.1)\n\
  --port N      port to bind; 0 picks a free port (default 0)\n";

struct Args {
    host: String,
    port: u16,
}

fn parse_args() -> Result<Option<Args>, String> {
    let mut args = Args {
        host: "127.0.0.1".to_owned(),
        port: 0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) => (f.to_owned(), Some(v.to_owned())),
            None => (arg.clone(), None),
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "--host" | "--port" => {
                let value = inline
                    .or_else(|| it.next())
                    .ok_or_else(|| format!("{flag} needs a value"))?;
                if flag == "--host" {
                    args.host = value;
                } else {
                    args.port = value
                        .parse()
                        .map_err(|_| format!("--port: '{value}' is not a port number (0-65535)"))?;
                }
            }
            other => return Err(format!("unknown argument '{other}'")),
        }
    }
    Ok(Some(args))
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn run(args: Args) -> Result<(), String> {
    let server = gcp_test_server::Server::start((args.host.as_str(), args.port)).map_err(|e| {
        format!(
            "cannot listen on {}:{}: {e} (try another --port, or --port 0)",
            args.host, args.port
        )
    })?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "listening on {}", server.url())
        .and_then(|()| out.flush())
        .map_err(|e| format!("cannot write to stdout: {e}"))?;
    drop(out);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .map_err(|e| format!("cannot start the signal handler: {e}"))?;
    runtime.block_on(wait_for_signal());
    drop(server);
    Ok(())
}

fn main() -> ExitCode {
    match parse_args() {
        Ok(None) => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        Ok(Some(args)) => match run(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("gcp-test-server: {e}");
                ExitCode::from(1)
            }
        },
        Err(e) => {
            eprintln!("gcp-test-server: {e}\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}
