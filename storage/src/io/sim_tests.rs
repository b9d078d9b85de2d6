//! Tests of the recording backend itself: what a power cut keeps.

use super::*;

fn write(io: &SimIo, file: &File, path: &Path, at: u64, bytes: &[u8]) {
    let n = io
        .write_vectored_at(file, path, &[IoSlice::new(bytes)], at)
        .unwrap();
    assert_eq!(n, bytes.len());
}

#[test]
fn a_power_cut_keeps_what_was_synced_and_named() {
    let d = tempfile::tempdir().unwrap();
    let io = SimIo::new();
    let (a, b) = (d.path().join("a"), d.path().join("b"));
    let fa = io.open(&a, OpenMode::Truncate).unwrap();
    write(&io, &fa, &a, 0, b"synced");
    io.sync_data(&fa, &a).unwrap();
    io.sync_dir(d.path()).unwrap();
    write(&io, &fa, &a, 6, b" lost");
    let fb = io.open(&b, OpenMode::Truncate).unwrap();
    write(&io, &fb, &b, 0, b"never named durably");
    io.sync_data(&fb, &b).unwrap();
    assert_eq!(io.durable_contents(&a).unwrap(), b"synced");
    assert_eq!(io.durable_contents(&b), None);
    io.power_loss(d.path(), Loss::Unsynced).unwrap();
    assert_eq!(std::fs::read(&a).unwrap(), b"synced");
    assert!(!b.exists());
}

#[test]
fn a_rename_without_a_directory_sync_is_undone() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("x"), b"old").unwrap();
    let io = SimIo::new();
    let (tmp, x) = (d.path().join("x.tmp"), d.path().join("x"));
    let f = io.open(&tmp, OpenMode::Truncate).unwrap();
    write(&io, &f, &tmp, 0, b"new");
    io.sync_data(&f, &tmp).unwrap();
    io.rename(&tmp, &x).unwrap();
    io.power_loss(d.path(), Loss::Unsynced).unwrap();
    assert_eq!(std::fs::read(&x).unwrap(), b"old");
    assert!(!tmp.exists());
}

#[test]
fn a_torn_tail_is_a_prefix_of_the_unsynced_writes() {
    for seed in 0..50 {
        let d = tempfile::tempdir().unwrap();
        let io = SimIo::new();
        let p = d.path().join("f");
        let f = io.open(&p, OpenMode::Truncate).unwrap();
        io.sync_dir(d.path()).unwrap();
        write(&io, &f, &p, 0, b"0123");
        io.sync_data(&f, &p).unwrap();
        write(&io, &f, &p, 4, b"4567");
        write(&io, &f, &p, 8, b"89");
        io.power_loss(d.path(), Loss::TornTail { seed }).unwrap();
        let got = std::fs::read(&p).unwrap();
        assert!(got.len() >= 4 && b"0123456789".starts_with(&got), "{got:?}");
    }
}
