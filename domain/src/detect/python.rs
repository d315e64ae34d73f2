//! Rule 6: Python apps (`requirements.txt` or `pyproject.toml`), installed into a `.venv`.

use super::{read_text, DetectError, Detection, Provider, RepoView, Start};

/// How deep `-r other.txt` includes are followed.
const MAX_INCLUDE_DEPTH: usize = 5;

/// Detects a Python app: a venv, its requirements, then gunicorn / uvicorn / `python app.py`.
pub(super) fn detect(repo: &dyn RepoView) -> Result<Option<Detection>, DetectError> {
    let has_requirements = repo.is_file("requirements.txt");
    let has_pyproject = repo.is_file("pyproject.toml");
    if !has_requirements && !has_pyproject {
        return Ok(None);
    }

    let mut build = vec!["python3 -m venv .venv".to_string()];
    // Only what ends up installed in the venv counts when choosing the server.
    let mut installed = Installed::default();
    if has_requirements {
        let text = read_text(repo, "requirements.txt")?;
        if text.lines().map(str::trim).any(|l| !l.is_empty() && !l.starts_with('#')) {
            build.push(".venv/bin/pip install -r requirements.txt".to_string());
        }
        installed.read_requirements(repo, "requirements.txt", &text, 0);
    } else {
        build.push(".venv/bin/pip install .".to_string());
        installed.project = true;
    }
    if has_pyproject && installed.project {
        installed.names.extend(pyproject_dependencies(&read_text(repo, "pyproject.toml")?));
    }

    let has = |name: &str| installed.names.iter().any(|n| n == name);
    let module = |candidates: &[&'static str]| candidates.iter().copied().find(|m| repo.is_file(&format!("{m}.py")));
    let start = if has("gunicorn") {
        let module = module(&["app", "main"]).unwrap_or("wsgi");
        Some(format!(".venv/bin/gunicorn --bind ${{HOST:-127.0.0.1}}:$PORT {module}:app"))
    } else if let Some(module) = module(&["main", "app"]).filter(|_| has("uvicorn")) {
        Some(format!(".venv/bin/uvicorn {module}:app --host ${{HOST:-127.0.0.1}} --port $PORT"))
    } else {
        module(&["app", "main"]).map(|m| format!(".venv/bin/python {m}.py"))
    };
    let start = match start {
        Some(cmd) => Start::Command(cmd),
        None => Start::Missing(DetectError::NoStartCommand { provider: Provider::Python.name().to_string() }),
    };
    Ok(Some(Detection { provider: Provider::Python, build, start }))
}

/// What pip installs into the venv.
#[derive(Debug, Default)]
struct Installed {
    /// Normalized names of the requirements.
    names: Vec<String>,
    /// True if the project itself (`.` / `-e .`, i.e. pyproject.toml's dependencies) is installed.
    project: bool,
}

impl Installed {
    /// Collects the requirement names of a requirements file, following `-r` includes.
    fn read_requirements(&mut self, repo: &dyn RepoView, file: &str, text: &str, depth: usize) {
        for line in text.lines() {
            let line = strip_comment(line).trim();
            if let Some(include) = line.strip_prefix("--requirement").or_else(|| line.strip_prefix("-r")) {
                let include = include.trim_start_matches('=').trim();
                let path = match file.rsplit_once('/') {
                    Some((dir, _)) => format!("{dir}/{include}"),
                    None => include.to_string(),
                };
                if let Some(text) = repo.read_to_string(&path).filter(|_| depth < MAX_INCLUDE_DEPTH) {
                    self.read_requirements(repo, &path, &text, depth + 1);
                }
            } else if is_project_itself(line) {
                self.project = true;
            } else if !line.starts_with('-') {
                self.names.extend(requirement_name(line));
            }
        }
    }
}

/// The line without a trailing `# comment` (a `#` at the start or after whitespace; URLs keep theirs).
fn strip_comment(line: &str) -> &str {
    let mut previous = ' ';
    for (i, c) in line.char_indices() {
        if c == '#' && previous.is_whitespace() {
            return &line[..i];
        }
        previous = c;
    }
    line
}

/// True for `.`, `./`, `-e .`, `.[extra]`: a line that installs the project in the current directory.
fn is_project_itself(line: &str) -> bool {
    let target = line.strip_prefix("--editable").or_else(|| line.strip_prefix("-e")).unwrap_or(line);
    let target = target.trim_start_matches('=').trim();
    let rest = target.strip_prefix("./").or_else(|| target.strip_prefix('.'));
    rest.is_some_and(|rest| rest.is_empty() || rest.starts_with('['))
}

/// The normalized (PEP 503: lowercase, `_`/`.` → `-`) project name a requirement specifier starts with,
/// e.g. `gunicorn` for `Gunicorn[gevent]>=20; python_version > "3"`.
fn requirement_name(spec: &str) -> Option<String> {
    let spec = spec.trim();
    let end = spec.find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))).unwrap_or(spec.len());
    let name = &spec[..end];
    (!name.is_empty()).then(|| name.to_ascii_lowercase().replace(['_', '.'], "-"))
}

/// The names of the dependencies `pip install .` installs: `[project] dependencies` and the keys of
/// `[tool.poetry.dependencies]`. A line-based reading of the TOML, enough for the usual layouts.
fn pyproject_dependencies(text: &str) -> Vec<String> {
    let (mut names, mut section, mut in_array) = (Vec::new(), String::new(), false);
    for line in text.lines() {
        let line = line.trim();
        if in_array {
            in_array = collect_strings(line, &mut names);
        } else if let Some(header) = line.strip_prefix('[') {
            section = header.trim_start_matches('[').split(']').next().unwrap_or("").trim().to_string();
        } else if let Some((key, value)) = line.split_once('=') {
            let key = key.trim().trim_matches(|c| c == '"' || c == '\'');
            match (section.as_str(), value.trim().strip_prefix('[')) {
                ("project", Some(array)) if key == "dependencies" => in_array = collect_strings(array, &mut names),
                ("tool.poetry.dependencies", _) if key != "python" => names.extend(requirement_name(key)),
                _ => {}
            }
        }
    }
    names
}

/// Adds the requirement names of the quoted strings in one line of a TOML array; returns true if the
/// array continues on the next line.
fn collect_strings(line: &str, names: &mut Vec<String>) -> bool {
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            ']' => return false,
            '#' => return true,
            '"' | '\'' => {
                let string: String = chars.by_ref().take_while(|d| *d != c).collect();
                names.extend(requirement_name(&string));
            }
            _ => {}
        }
    }
    true
}
