//! Read-only views of a repository checkout: the on-disk [`DirView`] and the in-memory [`MemView`].

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

/// A read-only view of a repository checkout. Paths are relative to the app's root directory and use `/`.
pub trait RepoView {
    /// True if a file (not a directory) exists at this relative path (`"package.json"`, `"src/main.rs"`).
    fn is_file(&self, rel: &str) -> bool;
    /// Contents of a UTF-8 text file at this relative path; `None` if missing, unreadable or not UTF-8.
    fn read_to_string(&self, rel: &str) -> Option<String>;
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
}
