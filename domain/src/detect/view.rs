//! Read-only views of a repository checkout: the on-disk [`DirView`] and the in-memory [`MemView`].

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

/// A read-only view of a repository checkout. Paths are relative to the app's root directory and use `/`.
pub trait RepoView {
    /// True if a file (not a directory) exists at this relative path (`"package.json"`, `"src/main.rs"`).
    fn is_file(&self, rel: &str) -> bool;
    /// Contents of a UTF-8 text file at this relative path; `None` if missing, unreadable or not UTF-8.
    fn read_to_string(&self, rel: &str) -> Option<String>;
    /// The entries of a directory (`""` is the root), sorted by name, with `true` for subdirectories;
    /// empty if it is missing or leads outside the root. Hidden entries (`.git`, …) are included.
    fn list_dir(&self, rel: &str) -> Vec<(String, bool)>;
    /// True if a directory exists at this relative path.
    fn is_dir(&self, rel: &str) -> bool {
        rel.rsplit_once('/').map_or_else(|| self.list_dir(""), |(parent, _)| self.list_dir(parent)).iter().any(|(name, dir)| *dir && name == rel.rsplit('/').next().unwrap_or(rel))
    }
}

/// A [`RepoView`] over a directory on disk (the checkout, already joined with the app's root_dir).
///
/// Paths that are absolute, contain `..`, or resolve (through symlinks) outside the root are treated
/// as missing, so a repository cannot make detection read files outside its checkout.
#[derive(Debug, Clone)]
pub struct DirView {
    root: PathBuf,
}

impl DirView {
    /// A view rooted at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        DirView { root: root.into() }
    }

    /// The on-disk path for `rel`, if it stays inside the root.
    fn resolve(&self, rel: &str) -> Option<PathBuf> {
        let rel = Path::new(rel);
        let mut components = rel.components().peekable();
        components.peek()?;
        if !components.all(|c| matches!(c, Component::Normal(_) | Component::CurDir)) {
            return None;
        }
        let root = self.root.canonicalize().ok()?;
        let path = root.join(rel).canonicalize().ok()?;
        path.starts_with(&root).then_some(path)
    }
}

impl RepoView for DirView {
    fn is_file(&self, rel: &str) -> bool {
        self.resolve(rel).is_some_and(|p| p.is_file())
    }

    fn read_to_string(&self, rel: &str) -> Option<String> {
        let path = self.resolve(rel).filter(|p| p.is_file())?;
        std::fs::read_to_string(path).ok()
    }

    fn list_dir(&self, rel: &str) -> Vec<(String, bool)> {
        let dir = if rel.is_empty() { self.root.canonicalize().ok() } else { self.resolve(rel) };
        let Some(entries) = dir.and_then(|d| std::fs::read_dir(d).ok()) else { return Vec::new() };
        let mut out: Vec<(String, bool)> = entries
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                let path = if rel.is_empty() { name.clone() } else { format!("{rel}/{name}") };
                // a symlink counts as what it leads to, and only if that stays inside the root
                let target = self.resolve(&path)?;
                Some((name, target.is_dir()))
            })
            .collect();
        out.sort();
        out
    }
}

/// An in-memory [`RepoView`] for unit tests: a map from relative path to contents.
#[derive(Debug, Clone, Default)]
pub struct MemView {
    /// `None` contents model a file that exists but cannot be read as UTF-8.
    files: HashMap<String, Option<String>>,
}

impl MemView {
    /// An empty repository.
    pub fn new() -> Self {
        MemView::default()
    }

    /// Adds (or replaces) a text file.
    pub fn file(mut self, rel: &str, contents: &str) -> Self {
        self.files.insert(rel.to_string(), Some(contents.to_string()));
        self
    }

    /// Adds a file that exists but is not readable as UTF-8 text.
    pub fn unreadable(mut self, rel: &str) -> Self {
        self.files.insert(rel.to_string(), None);
        self
    }
}

impl RepoView for MemView {
    fn is_file(&self, rel: &str) -> bool {
        self.files.contains_key(rel)
    }

    fn read_to_string(&self, rel: &str) -> Option<String> {
        self.files.get(rel).cloned().flatten()
    }

    fn list_dir(&self, rel: &str) -> Vec<(String, bool)> {
        let prefix = if rel.is_empty() { String::new() } else { format!("{rel}/") };
        let mut out: Vec<(String, bool)> = self
            .files
            .keys()
            .filter_map(|path| path.strip_prefix(&prefix))
            .map(|rest| match rest.split_once('/') {
                Some((dir, _)) => (dir.to_string(), true),
                None => (rest.to_string(), false),
            })
            .collect();
        out.sort();
        out.dedup();
        out
    }
}

/// A view of a subdirectory of another view (`""` is the whole view).
pub struct SubView<'a> {
    inner: &'a dyn RepoView,
    prefix: String,
}

impl<'a> SubView<'a> {
    pub fn new(inner: &'a dyn RepoView, dir: &str) -> SubView<'a> {
        SubView { inner, prefix: dir.trim_matches('/').to_string() }
    }

    fn full(&self, rel: &str) -> String {
        if self.prefix.is_empty() {
            rel.to_string()
        } else if rel.is_empty() {
            self.prefix.clone()
        } else {
            format!("{}/{rel}", self.prefix)
        }
    }
}

impl RepoView for SubView<'_> {
    fn is_file(&self, rel: &str) -> bool {
        self.inner.is_file(&self.full(rel))
    }

    fn read_to_string(&self, rel: &str) -> Option<String> {
        self.inner.read_to_string(&self.full(rel))
    }

    fn list_dir(&self, rel: &str) -> Vec<(String, bool)> {
        self.inner.list_dir(&self.full(rel))
    }
}
