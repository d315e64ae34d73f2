use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use super::*;

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

fn env_of<'a>(auth: &'a GitAuth, name: &str) -> &'a OsString {
    &auth.env().iter().find(|(k, _)| *k == name).unwrap_or_else(|| panic!("{name} is set")).1
}

/// Runs the askpass script the way git does: the prompt as its one argument, the auth's environment.
fn ask(auth: &GitAuth, prompt: &str) -> (bool, String) {
    let out = Command::new(env_of(auth, "GIT_ASKPASS"))
        .arg(prompt)
        .env_clear()
        .envs(auth.env().iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap();
    (out.status.success(), String::from_utf8(out.stdout).unwrap())
}

#[test]
fn askpass_answers_git_prompts_from_the_environment_and_holds_no_secret() {
    let run = tempfile::tempdir().unwrap();
    let auth = GitAuth::token(run.path(), "x-access-token", "tok-$(id)-'\"`x`").unwrap();
    assert_eq!(ask(&auth, "Username for 'https://git.example.com': "), (true, "x-access-token\n".into()));
    assert_eq!(ask(&auth, "Password for 'https://x-access-token@git.example.com': "), (true, "tok-$(id)-'\"`x`\n".into()));
    assert!(!ask(&auth, "Are you sure you want to continue connecting (yes/no)? ").0, "anything else is refused");
    let script = run.path().join(ASKPASS_FILE);
    assert_eq!(mode(&script), 0o700);
    assert!(!std::fs::read_to_string(&script).unwrap().contains("tok-"), "the token is never written to disk");
    assert_eq!(env_of(&auth, "GIT_CONFIG_KEY_0"), "credential.helper");
}

#[test]
fn a_tampered_askpass_script_is_replaced() {
    let run = tempfile::tempdir().unwrap();
    let script = ensure_askpass(run.path()).unwrap();
    std::fs::write(&script, "#!/bin/sh\necho \"$RHONE_GIT_TOKEN\" > /tmp/leak\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o777)).unwrap();
    ensure_askpass(run.path()).unwrap();
    assert_eq!(std::fs::read_to_string(&script).unwrap(), ASKPASS);
    assert_eq!(mode(&script), 0o700);
    let leftovers: Vec<_> = std::fs::read_dir(run.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(leftovers, [ASKPASS_FILE], "no temporary file is left behind");
}

#[test]
fn a_deploy_key_file_is_private_quoted_for_the_shell_and_deleted_when_dropped() {
    let root = tempfile::tempdir().unwrap();
    let run = root.path().join("it's run");
    std::fs::create_dir(&run).unwrap();
    let auth = GitAuth::deploy_key(&run, 3, "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----").unwrap();
    let files: Vec<_> = std::fs::read_dir(&run).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(files.len(), 1);
    let key = &files[0];
    assert_eq!(mode(key), 0o600);
    assert!(std::fs::read_to_string(key).unwrap().ends_with("-----\n"), "ssh needs the final newline");
    // the command line git hands to `sh -c` names the key file as one word, whatever the path holds
    let ssh = env_of(&auth, "GIT_SSH_COMMAND").to_str().unwrap().to_string();
    let words = Command::new("sh").arg("-c").arg(format!("printf '%s\\n' {}", ssh.replacen("ssh", "", 1))).output().unwrap();
    let words = String::from_utf8(words.stdout).unwrap();
    let words: Vec<&str> = words.lines().collect();
    assert_eq!(words[..3], ["-F", "/dev/null", "-i"]);
    assert_eq!(words[3], key.to_str().unwrap());
    assert!(words.contains(&"IdentitiesOnly=yes") && words.contains(&"StrictHostKeyChecking=accept-new"), "{words:?}");
    assert!(!ssh.contains("BEGIN"), "the key itself is never in the command");
    drop(auth);
    assert!(!key.exists(), "the temporary key file is gone once the fetch is done");
}

#[tokio::test]
async fn generated_deploy_keys_are_ed25519_pairs_and_leave_nothing_behind() {
    let run = tempfile::tempdir().unwrap();
    let (private, public) = generate_ed25519(run.path(), "rhone-shop").await.unwrap();
    assert!(public.starts_with("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5") && public.ends_with(" rhone-shop"), "{public}");
    assert!(private.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----"));
    assert_eq!(std::fs::read_dir(run.path()).unwrap().count(), 0, "the key generation directory is removed");
    // the private key really is the public key's other half
    let check = tempfile::tempdir().unwrap();
    let f = check.path().join("k");
    create_private(&f, 0o600, &private).unwrap();
    let derived = Command::new("ssh-keygen").arg("-y").arg("-f").arg(&f).output().unwrap();
    assert!(derived.status.success());
    let derived = String::from_utf8(derived.stdout).unwrap();
    assert_eq!(derived.split_whitespace().nth(1), public.split_whitespace().nth(1));
    let (_, other) = generate_ed25519(run.path(), "rhone-shop").await.unwrap();
    assert_ne!(other, public, "every generation makes a new key");
}

#[test]
fn paths_handed_to_git_are_absolute_even_for_a_relative_data_dir() {
    let run = tempfile::tempdir().unwrap();
    // the same directory, named relative to the test's working directory (git runs in the checkout)
    let depth = std::env::current_dir().unwrap().components().count() - 1;
    let relative = PathBuf::from("../".repeat(depth)).join(run.path().strip_prefix("/").unwrap());
    assert!(relative.is_relative() && relative.exists());
    let token = GitAuth::token(&relative, "u", "t").unwrap();
    assert!(Path::new(env_of(&token, "GIT_ASKPASS")).is_absolute());
    let key = GitAuth::deploy_key(&relative, 1, "k").unwrap();
    let ssh = env_of(&key, "GIT_SSH_COMMAND").to_str().unwrap().to_string();
    assert!(ssh.contains("-i '/") && ssh.contains("UserKnownHostsFile='/"), "{ssh}");
}
