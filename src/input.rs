//! Reading an input file with a size limit: the one primitive every parser of a file the
//! user names goes through, so no file is read into memory past its parser's limit.
//!
//! Invariant: at most `limit + 1` bytes are ever read, and a buffer that may hold key
//! material or secret values is zeroized when dropped, also when the file is refused.

use std::io::Read;
use std::path::Path;

use zeroize::Zeroizing;

/// The file's bytes, or `Ok(None)` when it holds more than `limit` bytes.
pub fn read_at_most(path: &Path, limit: u64) -> std::io::Result<Option<Zeroizing<Vec<u8>>>> {
    let mut bytes = Zeroizing::new(Vec::new());
    std::fs::File::open(path)?
        .take(limit + 1)
        .read_to_end(&mut bytes)?;
    Ok((bytes.len() as u64 <= limit).then_some(bytes))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_file_over_the_limit_is_refused_and_one_at_it_read() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, [7u8; 10]).unwrap();
        assert!(super::read_at_most(&p, 9).unwrap().is_none());
        assert_eq!(super::read_at_most(&p, 10).unwrap().unwrap().len(), 10);
        assert!(super::read_at_most(&dir.path().join("missing"), 10).is_err());
    }
}
