use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = dsrhub::cli::Cli::parse();
    // Rust ignores SIGPIPE, so printing into a pipe whose reader went away (`dsrhub status |
    // head -1`) panics. A command that only prints ends quietly instead, as `ls` does. The
    // server keeps Rust's default: a client hanging up must not end it.
    #[cfg(unix)]
    if !matches!(cli.command, dsrhub::cli::Command::Serve) {
        // SAFETY: called before any thread is started; SIG_DFL is a valid disposition.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    dsrhub::cli::init_logging(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let json = cli.json;
    match runtime.block_on(dsrhub::cli::run(cli)) {
        Ok(code) => std::process::ExitCode::from(code),
        Err(e) if json => {
            // What a script reads: the error where the answer would have been.
            println!(
                "{}",
                serde_json::json!({ "error": { "kind": e.kind(), "message": e.to_string() } })
            );
            std::process::ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
