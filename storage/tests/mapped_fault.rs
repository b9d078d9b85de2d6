//! What an unreadable mapped page does to a system call (docs/design.md, "Unreadable segments"):
//! the kernel's copy from a mapping whose file was truncated below it fails with EFAULT instead
//! of raising SIGBUS, so writing a fetch body zero-copy from a mapping with `writev` survives a
//! bad page; only loads in user space need to become `pread`s.
#![allow(unsafe_code)]

use std::io::{IoSlice, Read, Write};
use std::os::unix::net::UnixStream;

#[test]
fn writev_from_a_mapping_past_its_files_end_fails_with_efault_not_sigbus() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("00000000000000000000.log");
    let mut file = std::fs::File::create(&path).unwrap();
    file.write_all(&vec![7u8; 64 << 10]).unwrap();
    file.sync_all().unwrap();
    let file = std::fs::File::open(&path).unwrap();
    // SAFETY: the test truncates the file below the mapping on purpose and never loads from the
    // mapping in user space; only the kernel reads it (through writev).
    let map = unsafe {
        memmap2::MmapOptions::new()
            .len(64 << 10)
            .map(&file)
            .unwrap()
    };
    let (mut reader, mut writer) = UnixStream::pair().unwrap();
    // Readable while the file is whole.
    let n = writer
        .write_vectored(&[IoSlice::new(&map[..4096])])
        .unwrap();
    assert_eq!(n, 4096);
    let mut drained = vec![0u8; 4096];
    reader.read_exact(&mut drained).unwrap();
    assert!(drained.iter().all(|&b| b == 7));
    // Another program (or a failing device) takes the pages away.
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(0)
        .unwrap();
    let err = writer
        .write_vectored(&[IoSlice::new(&map[8192..12288])])
        .unwrap_err();
    assert_eq!(err.raw_os_error(), Some(14), "EFAULT: {err}");
}
