//! Progress bars with rate and ETA on stderr: drawn in place on a terminal, and as a plain
//! line every ten seconds when stderr is a log file (nohup, CI), so a long run leaves a
//! record of its pace either way.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle, TermLike};
use std::io::{IsTerminal, Write as _};

/// A progress bar on stderr (hidden when `show` is false or stderr is not a terminal).
pub fn progress_bar(len: u64, prefix: &str, show: bool) -> ProgressBar {
    let bar = styled_bar(
        len,
        show,
        "{prefix:>8} [{bar:30}] {pos}/{len} {msg} ({elapsed} < {eta})",
    );
    bar.set_prefix(prefix.to_string());
    bar
}

/// A bar of `len` steps drawn with `template` (hidden unless `show`): on the terminal when
/// stderr is one, else as a plain line on stderr every 10 seconds, so the log of a run under
/// nohup or CI keeps a record of its progress instead of nothing.
pub fn styled_bar(len: u64, show: bool, template: &str) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let target = if std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::term_like(Box::new(LogLines::default()))
    };
    let bar = ProgressBar::with_draw_target(Some(len), target);
    let style = ProgressStyle::with_template(template)
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar
}

/// indicatif's terminal interface for a log file: cursor moves are ignored and a drawn
/// frame is written out at most once per `LogLines::EVERY`.
#[derive(Debug, Default)]
struct LogLines {
    state: std::sync::Mutex<(String, Option<std::time::Instant>)>,
}

impl LogLines {
    const EVERY: std::time::Duration = std::time::Duration::from_secs(10);

    fn push(&self, s: &str, newline: bool) {
        if let Ok(mut st) = self.state.lock() {
            st.0.push_str(s);
            if newline {
                st.0.push('\n');
            }
        }
    }
}

impl TermLike for LogLines {
    fn width(&self) -> u16 {
        120
    }
    fn move_cursor_up(&self, _: usize) -> std::io::Result<()> {
        Ok(())
    }
    fn move_cursor_down(&self, _: usize) -> std::io::Result<()> {
        Ok(())
    }
    fn move_cursor_right(&self, _: usize) -> std::io::Result<()> {
        Ok(())
    }
    fn move_cursor_left(&self, _: usize) -> std::io::Result<()> {
        Ok(())
    }
    fn write_line(&self, s: &str) -> std::io::Result<()> {
        self.push(s, true);
        Ok(())
    }
    fn write_str(&self, s: &str) -> std::io::Result<()> {
        self.push(s, false);
        Ok(())
    }
    fn clear_line(&self) -> std::io::Result<()> {
        Ok(())
    }
    fn flush(&self) -> std::io::Result<()> {
        let Ok(mut st) = self.state.lock() else {
            return Ok(());
        };
        let frame = std::mem::take(&mut st.0);
        let due = st.1.is_none_or(|t| t.elapsed() >= Self::EVERY);
        if due && !frame.trim().is_empty() {
            st.1 = Some(std::time::Instant::now());
            let mut err = std::io::stderr().lock();
            err.write_all(frame.trim_end().as_bytes())?;
            err.write_all(b"\n")?;
        }
        Ok(())
    }
}
