//! `rhone serve` runs everything in one process; `rhone admin create-user` adds an account;
//! `rhone admin setup-token` prints the first-run setup token.

use rhone::config::Config;
use rhone::site::SiteSettings;

const USAGE: &str = "usage:
  rhone serve [--stop-apps]                    run the dashboard, API, proxy and workers (apps keep
                                               running when Rhone stops, unless --stop-apps)
  rhone admin create-user <email>              create a user (password from RHONE_NEW_PASSWORD or stdin)
  rhone admin setup-token                      print the one-time token of the /setup page (first run)

configuration: rhone.toml and RHONE_* variables (RHONE_DATA_DIR, RHONE_ADDR, RHONE_PROXY_ADDR,
RHONE_BASE_DOMAIN, RHONE_SECRET_KEY, RHONE_DATABASE_URL, RHONE_ADMIN_EMAIL, RHONE_ADMIN_PASSWORD,
RHONE_PUBLIC_URL, RHONE_TRUSTED_PROXIES)";

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
            ["serve", "--stop-apps"] => serve(Config { stop_apps: true, ..config }).await,
            ["admin", "create-user", email] => create_user(config, email).await,
            ["admin", "setup-token"] => setup_token(config).await,
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
    let public_url = config.public_url.as_ref().map(ToString::to_string);
    let running = rhone::start(config, SiteSettings::load()).await.map_err(|e| e.to_string())?;
    let url = public_url.unwrap_or_else(|| format!("http://{}", running.addr));
    println!("Rhone dashboard: {url}  (apps: port {})", running.proxy_addr.port());
    match running.services.setup_token().await {
        Ok(Some(token)) => println!(
            "First run: create the owner account at {url}/setup?token={token}\n  (setup token: {token}; `rhone admin setup-token` prints it again)"
        ),
        Ok(None) => {}
        Err(e) => tracing::error!(error = %e, "could not prepare the first-run setup token"),
    }
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).map_err(|e| e.to_string())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    tracing::info!("shutting down");
    running.stop().await;
    Ok(())
}

/// The first-run setup token while no user exists (the same one `rhone serve` prints).
async fn setup_token(config: Config) -> Result<(), String> {
    let services = rhone::open_services(&config).await.map_err(|e| e.to_string())?;
    match services.setup_token().await.map_err(|e| e.to_string())? {
        Some(token) => {
            println!("{token}");
            Ok(())
        }
        None => Err("setup is already done (a user exists): log in, or add users with `rhone admin create-user`".into()),
    }
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
