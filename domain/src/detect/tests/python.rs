//! Rule 6: Python.

use super::*;

const VENV: &str = "python3 -m venv .venv";
const PIP_R: &str = ".venv/bin/pip install -r requirements.txt";

#[test]
fn requirements_with_app_py_runs_python_app_py() {
    let plan = plan(&MemView::new().file("requirements.txt", "# deps\nrequests==2.32\n").file("app.py", ""));
    assert_eq!(plan.provider, Provider::Python);
    assert_eq!(plan.build, cmds(&[VENV, PIP_R]));
    assert_eq!(plan.start.as_deref(), Some(".venv/bin/python app.py"));
}

#[test]
fn main_py_is_the_fallback_script() {
    let plan = plan(&MemView::new().file("requirements.txt", "requests").file("main.py", ""));
    assert_eq!(plan.start.as_deref(), Some(".venv/bin/python main.py"));
}

#[test]
fn requirements_with_only_comments_skip_pip() {
    let plan = plan(&MemView::new().file("requirements.txt", "# nothing\n\n   \n").file("app.py", ""));
    assert_eq!(plan.build, cmds(&[VENV]));
}

#[test]
fn gunicorn_in_requirements_starts_gunicorn() {
    let plan = plan(
        &MemView::new().file("requirements.txt", "flask\ngunicorn==21.2\n").file("app.py", "").file("main.py", ""),
    );
    assert_eq!(plan.start.as_deref(), Some(".venv/bin/gunicorn --bind ${HOST:-127.0.0.1}:$PORT app:app"));
}

#[test]
fn gunicorn_module_falls_back_to_main_then_wsgi_and_is_never_guessed() {
    let plan1 = plan(&MemView::new().file("requirements.txt", "Gunicorn>=20").file("main.py", ""));
    assert_eq!(plan1.start.as_deref(), Some(".venv/bin/gunicorn --bind ${HOST:-127.0.0.1}:$PORT main:app"));
    let plan2 = plan(&MemView::new().file("requirements.txt", "gunicorn").file("wsgi.py", "application = make()\n"));
    assert_eq!(plan2.start.as_deref(), Some(".venv/bin/gunicorn --bind ${HOST:-127.0.0.1}:$PORT wsgi:application"));
    // no module at all: a clear error, not a start command that cannot work
    assert!(matches!(error(&MemView::new().file("requirements.txt", "gunicorn")), DetectError::NoStartCommand { .. }));
}

#[test]
fn fastapi_extras_bring_uvicorn_and_packages_and_src_layouts_are_found() {
    let plan1 = plan(&MemView::new().file("requirements.txt", "fastapi[standard]>=0.112\n").file("app/main.py", "app = FastAPI()\n"));
    assert_eq!(plan1.start.as_deref(), Some(".venv/bin/uvicorn app.main:app --host ${HOST:-127.0.0.1} --port $PORT"));
    let toml = "[tool.poetry.dependencies]\npython = \"^3.11\"\nfastapi = { version = \"^0.115\", extras = [\"all\"] }\n";
    let plan2 = plan(&MemView::new().file("pyproject.toml", toml).file("main.py", ""));
    assert!(plan2.start.as_deref().is_some_and(|s| s.starts_with(".venv/bin/uvicorn main:app")), "{:?}", plan2.start);
    let plan3 = plan(&MemView::new().file("requirements.txt", "fastapi\n").file("main.py", ""));
    assert_eq!(plan3.start.as_deref(), Some(".venv/bin/python main.py"), "plain fastapi brings no server");
    let src = MemView::new().file("requirements.txt", "gunicorn\nflask\n").file("src/shop/wsgi.py", "app = create_app()\n");
    assert_eq!(plan(&src).start.as_deref(), Some(".venv/bin/gunicorn --bind ${HOST:-127.0.0.1}:$PORT --pythonpath src shop.wsgi:app"));
}

#[test]
fn django_collects_static_files_only_when_static_root_is_always_set() {
    let manage = "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'site1.settings')\n";
    let always = MemView::new().file("manage.py", manage).file("requirements.txt", "django\ngunicorn\n").file("site1/settings.py", "STATIC_ROOT = BASE_DIR / 'static'\n");
    assert!(plan(&always).build.iter().any(|s| s.contains("collectstatic --noinput")));
    let sometimes = always.clone().file("site1/settings.py", "if not DEBUG:\n    STATIC_ROOT = BASE_DIR / 'static'\n");
    assert!(!plan(&sometimes).build.iter().any(|s| s.contains("collectstatic")));
    assert_eq!(plan(&always).release.as_deref(), Some(".venv/bin/python manage.py migrate --noinput"));
}

#[test]
fn requirement_names_match_case_insensitively_with_extras_and_markers() {
    for line in [
        "GUNICORN",
        "gunicorn[gevent]>=21",
        "gunicorn ; python_version > '3.8'",
        "gunicorn @ https://x/g.whl",
        "gunicorn==21 # server",
    ] {
        let plan = plan(&MemView::new().file("requirements.txt", line).file("app.py", ""));
        assert_eq!(plan.start.as_deref(), Some(".venv/bin/gunicorn --bind ${HOST:-127.0.0.1}:$PORT app:app"), "{line}");
    }
}

#[test]
fn requirement_named_gunicorn_extras_does_not_match_substring() {
    for line in
        ["notgunicorn==1", "gunicorn-extras", "django-gunicorn", "# gunicorn", "-e git+https://x/y#egg=gunicorn"]
    {
        let plan = plan(&MemView::new().file("requirements.txt", line).file("app.py", ""));
        assert_eq!(plan.start.as_deref(), Some(".venv/bin/python app.py"), "{line}");
    }
}

#[test]
fn uvicorn_prefers_main_py() {
    let plan1 = plan(
        &MemView::new().file("requirements.txt", "fastapi\nuvicorn[standard]").file("main.py", "").file("app.py", ""),
    );
    assert_eq!(plan1.start.as_deref(), Some(".venv/bin/uvicorn main:app --host ${HOST:-127.0.0.1} --port $PORT"));
    let plan2 = plan(&MemView::new().file("requirements.txt", "uvicorn").file("app.py", ""));
    assert_eq!(plan2.start.as_deref(), Some(".venv/bin/uvicorn app:app --host ${HOST:-127.0.0.1} --port $PORT"));
}

#[test]
fn included_requirement_files_are_followed() {
    let repo = MemView::new()
        .file("requirements.txt", "-r requirements/prod.txt\n")
        .file("requirements/prod.txt", "--requirement=base.txt\n")
        .file("requirements/base.txt", "gunicorn\n")
        .file("app.py", "");
    let plan = plan(&repo);
    assert_eq!(plan.build, cmds(&[VENV, PIP_R]));
    assert!(plan.start.as_deref().is_some_and(|s| s.starts_with(".venv/bin/gunicorn")));
}

#[test]
fn pyproject_installs_its_dependencies_not_the_project_itself() {
    let toml =
        "[project]\nname = \"gunicorn-app\"\ndependencies = [\n  \"flask>=3\", # web\n  'Gunicorn[gevent]>=21',\n]\n";
    let plan = plan(&MemView::new().file("pyproject.toml", toml).file("app.py", ""));
    assert_eq!(plan.build, cmds(&[VENV, ".venv/bin/pip install 'flask>=3' 'Gunicorn[gevent]>=21'"]));
    assert_eq!(plan.start.as_deref(), Some(".venv/bin/gunicorn --bind ${HOST:-127.0.0.1}:$PORT app:app"));
}

#[test]
fn pyproject_project_name_and_optional_dependencies_do_not_count() {
    let toml = "[project]\nname = \"gunicorn\"\ndependencies = [\"requests\"]\n[project.optional-dependencies]\nprod = [\"gunicorn\"]\n";
    let plan = plan(&MemView::new().file("pyproject.toml", toml).file("main.py", ""));
    assert_eq!(plan.start.as_deref(), Some(".venv/bin/python main.py"));
}

#[test]
fn poetry_dependency_keys_count() {
    let toml =
        "[tool.poetry.dependencies]\npython = \"^3.11\"\nuvicorn = { version = \"^0.30\", extras = [\"standard\"] }\n";
    let plan = plan(&MemView::new().file("pyproject.toml", toml).file("main.py", ""));
    assert_eq!(plan.start.as_deref(), Some(".venv/bin/uvicorn main:app --host ${HOST:-127.0.0.1} --port $PORT"));
}

#[test]
fn requirements_txt_wins_over_pyproject_unless_it_installs_the_project() {
    let toml = "[project]\ndependencies = [\"gunicorn\"]\n";
    let repo = MemView::new().file("pyproject.toml", toml).file("requirements.txt", "requests\n").file("app.py", "");
    let plan1 = plan(&repo);
    assert_eq!(plan1.build, cmds(&[VENV, PIP_R]));
    assert_eq!(plan1.start.as_deref(), Some(".venv/bin/python app.py"));
    let plan2 = plan(&repo.file("requirements.txt", "-e .\n"));
    assert!(plan2.start.as_deref().is_some_and(|s| s.starts_with(".venv/bin/gunicorn")));
}

#[test]
fn python_app_without_an_entry_point_is_a_clear_error() {
    let err = error(&MemView::new().file("requirements.txt", "uvicorn"));
    assert_eq!(err, DetectError::NoStartCommand { provider: "Python".into() });
    assert!(err.to_string().contains("app.py") && err.to_string().contains("start command"));
}

#[test]
fn unreadable_requirements_name_the_file() {
    let err = error(&MemView::new().unreadable("requirements.txt"));
    assert!(matches!(&err, DetectError::InvalidFile { file, .. } if file == "requirements.txt"), "{err:?}");
}

#[test]
fn node_wins_over_python_and_python_over_static() {
    let repo = MemView::new().file("package.json", r#"{"main": "a.js"}"#).file("a.js", "").file("requirements.txt", "");
    assert!(matches!(plan(&repo).provider, Provider::Node { .. }));
    let repo = MemView::new().file("requirements.txt", "").file("app.py", "").file("index.html", "");
    assert_eq!(plan(&repo).provider, Provider::Python);
}
