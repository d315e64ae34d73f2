//! `rhone serve` runs everything in one process; `rhone admin create-user` adds an account.

use rhone::config::Config;
use rhone::site::SiteSettings;

const USAGE: &str = "usage:
  rhone serve                                  run the dashboard, API, proxy and workers
  rhone admin create-user <email>              create a user (password from RHONE_NEW_PASSWORD or stdin)

configuration: rhone.toml and RHONE_* variables (RHONE_DATA_DIR, RHONE_ADDR, RHONE_PROXY_ADDR,
RHONE_BASE_DOMAIN, RHONE_SECRET_KEY, RHONE_DATABASE_URL, RHONE_ADMIN_EMAIL, RHONE_ADMIN_PASSWORD)";

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,sqlx=warn,hyper=warn".into()))
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(async {
        let config = Config::load().map_err(|e| e.to_string())?;
        match args.as_slice() {
            ["serve"] | [] => serve(config).await,
            ["admin", "create-user", email] => create_user(config, email).await,
            _ => Err(USAGE.to_string()),
        }
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rhone: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config) -> Result<(), String> {
    let running = rhone::start(config, SiteSettings::load()).await.map_err(|e| e.to_string())?;
    println!("Rhone dashboard: http://{}  (apps: port {})", running.addr, running.proxy_addr.port());
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).map_err(|e| e.to_string())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    tracing::info!("shutting down");
    running.stop().await;
    Ok(())
}

async fn create_user(config: Config, email: &str) -> Result<(), String> {
    let password = match std::env::var("RHONE_NEW_PASSWORD") {
        Ok(p) => p,
        Err(_) => {
            let mut line = String::new();
            std::io::stdin().read_line(&mut line).map_err(|e| e.to_string())?;
            line.trim_end_matches(['\n', '\r']).to_string()
        }
    };
    let services = rhone::open_services(&config).await.map_err(|e| e.to_string())?;
    let user = services.create_user(email, &password).await.map_err(|e| e.to_string())?;
    println!("created user {} ({})", user.email, user.role);
    Ok(())
}
