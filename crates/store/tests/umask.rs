//! Files written atomically end with the mode a plain write would have had: 0666 less the umask. A test
//! binary of its own, because the umask is the whole process's.

#[cfg(unix)]
#[test]
fn atomic_writes_honour_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    for (umask, expected) in [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)] {
        // SAFETY: umask only swaps a process-wide integer; this binary runs no other test.
        let old = unsafe { libc::umask(umask) };
        let path = dir.path().join(format!("runs-{umask:o}.csv"));
        ddlab_store::write_atomic(&path, b"a,b\n1,2\n").unwrap();
        let plain = dir.path().join(format!("plain-{umask:o}.csv"));
        std::fs::write(&plain, b"x").unwrap();
        unsafe { libc::umask(old) };
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), expected, "umask {umask:o}: atomic write mode {:o}", mode(&path));
        assert_eq!(mode(&path), mode(&plain), "umask {umask:o}: the same mode as a plain write");
    }
}
