//! A `log` backend that writes `[LEVEL hardinit (pid)] message` lines to stderr, like tini.

use std::io::Write;

use log::{LevelFilter, Log, Metadata, Record};

struct StderrLogger {
    pid: u32,
}

impl Log for StderrLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record<'_>) {
        if self.enabled(record.metadata()) {
            // One write per line, so lines of hardinit and the program do not interleave.
            let line = format!(
                "[{:<5} hardinit ({})] {}\n",
                record.level(),
                self.pid,
                record.args()
            );
            let _ = std::io::stderr().write_all(line.as_bytes());
        }
    }

    fn flush(&self) {}
}

/// 0 errors, 1 warnings (default), 2 info, 3 debug, 4+ trace.
pub fn level_for(verbosity: u8) -> LevelFilter {
    match verbosity {
        0 => LevelFilter::Error,
        1 => LevelFilter::Warn,
        2 => LevelFilter::Info,
        3 => LevelFilter::Debug,
        _ => LevelFilter::Trace,
    }
}

/// Installs the logger once; later calls only change the level.
pub fn init(verbosity: u8) {
    let logger = Box::new(StderrLogger {
        pid: std::process::id(),
    });
    let _ = log::set_boxed_logger(logger);
    log::set_max_level(level_for(verbosity));
}
