//! `mintgate`: parse the command line, load settings, then serve or run an operator command.

use std::process::ExitCode;

use clap::Parser;
use mintgate::cli::{Cli, Command, run_admin};
use mintgate::config::Settings;
use mintgate::startup::{Application, announce_first_run_password};
use mintgate::telemetry;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("mintgate: {e}");
            return ExitCode::from(2);
        }
    };
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(settings),
        command => match run_admin(command, &settings, cli.json) {
            Ok(()) => ExitCode::SUCCESS,
            Err(failure) => {
                eprintln!("mintgate: {}", failure.message);
                ExitCode::from(failure.code)
            }
        },
    }
}

fn serve(settings: Settings) -> ExitCode {
    telemetry::init(settings.server.log_format);
    let result = actix_web::rt::System::new().block_on(async move {
        let shown = settings.clone();
        let mut app = Application::build(settings)?;
        if shown.server.issuer_is_ip_literal() {
            tracing::warn!(issuer = %shown.server.issuer_str(), "the issuer is an IP literal: passkeys (WebAuthn) need a domain name and are switched off");
        }
        tracing::info!(
            issuer = %shown.server.issuer_str(),
            login = %shown.server.url_for(mintgate::web::paths::LOGIN),
            database = %redact_url(&shown.database_url()),
            port = app.port(),
            metrics_port = ?app.metrics_port(),
            "mintgate is serving"
        );
        if let Some(password) = app.take_first_run_password() {
            announce_first_run_password(&shown.server, &shown.first_run, &password);
        }
        app.run_until_stopped().await.map_err(anyhow::Error::from)?;
        tracing::info!("stopped");
        Ok::<_, anyhow::Error>(())
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "mintgate could not start");
            eprintln!("mintgate: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}
