//! Files that name a data subject (reports, letters, exports): readable by their owner only.
//!
//! Folders are created `0700` and files written `0600` (atomically: a temporary file renamed
//! into place), so another account on the server cannot read what the hub writes about a
//! person. On other platforms the platform's defaults apply.

use std::path::Path;

use crate::error::{Error, Result};

/// Create `dir` and its missing parents, each only its owner can enter; an existing `dir`
/// keeps its mode unless `own` (a folder the hub made for one request).
pub fn create_dir(dir: &Path, own: bool) -> Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .map_err(Error::io("cannot create the folder", dir))?;
    #[cfg(unix)]
    if own {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(Error::io("cannot restrict the folder", dir))?;
    }
    #[cfg(not(unix))]
    let _ = own;
    Ok(())
}

/// Write `content` to `path`, owner-readable only, replacing it atomically.
pub fn write(path: &Path, content: impl AsRef<[u8]>) -> Result<()> {
    dsrhub_connector::secrets::write_private_file(path, content)
        .map_err(Error::io("cannot write", path))
}
