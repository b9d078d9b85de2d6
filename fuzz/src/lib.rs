//! Shared by the fuzz targets and the seed generator: an in-process broker to dispatch requests
//! to, and the container format the storage target reads a log directory from.

pub mod broker;
pub mod log_dir;
