//! The on-disk view.

use super::*;

#[test]
fn dir_view_sees_only_files_inside_its_root() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("app");
    std::fs::create_dir_all(root.join("src")).expect("mkdir");
    std::fs::write(root.join("src/main.rs"), "fn main() {}").expect("write");
    std::fs::write(dir.path().join("secret"), "s").expect("write");
    std::fs::write(root.join("bin"), [0xff, 0xfe]).expect("write");
    let view = DirView::new(&root);
    assert!(view.is_file("src/main.rs") && view.is_file("./src/main.rs"));
    assert_eq!(view.read_to_string("src/main.rs").as_deref(), Some("fn main() {}"));
    assert!(!view.is_file("src") && view.read_to_string("src").is_none());
    assert!(view.is_file("bin") && view.read_to_string("bin").is_none());
    assert!(!view.is_file("../secret") && !view.is_file("") && !view.is_file("/etc/hostname"));
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(dir.path().join("secret"), root.join("link")).expect("symlink");
        assert!(!view.is_file("link") && view.read_to_string("link").is_none());
    }
}
