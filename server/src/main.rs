//! `rhone serve` runs everything in one process; `rhone admin create-user` adds an account;
//! `rhone admin setup-token` prints the first-run setup token; `rhone plan <dir>` prints the detected
//! build plan (or, with `--dockerfile`, the generated Dockerfile).

use rhone::config::Config;
use rhone::site::SiteSettings;

const USAGE: &str = "usage:
  rhone serve [--stop-apps]                    run the dashboard, API, proxy and workers (apps keep
                                               running when Rhone stops, unless --stop-apps); while
                                               a Rhone runs on the same data dir, take over from it
                                               (SIGHUP makes a running one start its successor)
  rhone admin create-user <email>              create a user (password from RHONE_NEW_PASSWORD or stdin)
  rhone admin setup-token                      print the one-time token of the /setup page (first run)
  rhone plan <dir> [--dockerfile]              print the build plan detected for an app's directory (JSON),
                                               or the Dockerfile the docker runtime generates from it

configuration: rhone.toml and RHONE_* variables (RHONE_DATA_DIR, RHONE_ADDR, RHONE_PROXY_ADDR,
RHONE_BASE_DOMAIN, RHONE_SECRET_KEY, RHONE_DATABASE_URL, RHONE_ADMIN_EMAIL, RHONE_ADMIN_PASSWORD,
RHONE_PUBLIC_URL, RHONE_TRUSTED_PROXIES)";

fn main() -> std::process::ExitCode {
    rhone::memory::tune_allocator();
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
            ["plan", dir] => plan(&config, dir, false),
            ["plan", dir, "--dockerfile"] | ["plan", "--dockerfile", dir] => plan(&config, dir, true),
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
    let site = SiteSettings::load();
    site.check()?;
    let running = rhone::start(config, site).await.map_err(|e| e.to_string())?;
    let url = public_url.unwrap_or_else(|| format!("http://{}", running.addr));
    println!("Rhone dashboard: {url}  (apps: port {})", running.proxy_addr.port());
    match running.services.setup_token().await {
        Ok(Some(token)) => println!(
            "First run: create the owner account at {url}/setup?token={token}\n  (setup token: {token}; `rhone admin setup-token` prints it again)"
        ),
        Ok(None) => {}
        Err(e) => tracing::error!(error = %e, "could not prepare the first-run setup token"),
    }
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).map_err(|e| e.to_string())?;
    let mut hup = signal(SignalKind::hangup()).map_err(|e| e.to_string())?;
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            _ = term.recv() => break,
            // `systemctl reload`: start the (possibly upgraded) binary, which takes over from this one
            _ = hup.recv() => spawn_successor(),
            () = running.handed_over() => {
                tracing::info!("a new rhone serve took over; finishing the connections still open here, then exiting");
                let again = async {
                    tokio::select! {
                        _ = tokio::signal::ctrl_c() => {}
                        _ = term.recv() => {}
                    }
                };
                running.finish_handover(again).await;
                return Ok(());
            }
        }
    }
    tracing::info!("shutting down");
    running.stop().await;
    Ok(())
}

/// Starts `rhone serve` again from the binary's path (an upgrade replaced the file: the new one
/// runs) with the same arguments and environment; it takes over through the control socket. If it
/// fails, this process goes on serving.
fn spawn_successor() {
    let exe = match std::env::current_exe() {
        // a package upgrade replaced the file we run from: start what is at that path now
        Ok(path) => match path.to_str().and_then(|p| p.strip_suffix(" (deleted)")) {
            Some(p) => std::path::PathBuf::from(p),
            None => path,
        },
        Err(error) => {
            tracing::error!(%error, "SIGHUP: cannot find Rhone's own binary; not reloading");
            return;
        }
    };
    tracing::info!(binary = %exe.display(), "SIGHUP: starting a new rhone serve to take over");
    match tokio::process::Command::new(&exe).args(std::env::args_os().skip(1)).spawn() {
        Ok(mut child) => {
            tokio::spawn(async move {
                match child.wait().await {
                    Ok(status) if status.success() => {}
                    Ok(status) => tracing::error!(%status, "the new rhone serve did not take over; still serving"),
                    Err(error) => tracing::error!(%error, "the new rhone serve could not be waited for"),
                }
            });
        }
        Err(error) => tracing::error!(binary = %exe.display(), %error, "SIGHUP: could not start the new rhone serve; still serving"),
    }
}

/// `rhone plan`: the build plan detected for `dir` as JSON or, with `dockerfile`, the Dockerfile
/// generated from it (the same functions the deploy pipeline calls; no overrides, no Rhone state).
fn plan(config: &Config, dir: &str, dockerfile: bool) -> Result<(), String> {
    use domain::detect::{detect, DirView, Overrides};
    let path = std::path::Path::new(dir);
    if !path.is_dir() {
        return Err(format!("{dir}: not a directory (give the app's root directory, e.g. a checkout)"));
    }
    let view = DirView::new(path);
    let plan = detect(&view, &Overrides::default()).map_err(|e| format!("{dir}: {e}"))?;
    if dockerfile {
        let text = domain::detect::dockerfile(&plan, &view, &config.docker_base_images).map_err(|e| format!("{dir}: {e}"))?;
        print!("{text}");
    } else {
        println!("{}", serde_json::to_string_pretty(&plan).map_err(|e| e.to_string())?);
    }
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
    let team = services.personal_team_of(&user).await.map_err(|e| e.to_string())?;
    println!("created user {} ({}) with personal team {}", user.email, user.role, team.slug);
    Ok(())
}
